"""Synergos ML core shared by the TTP and the Worker.

Modules: `model_spec` (spec -> nn.Module), `run_config` (run defaults and validation),
`components` (optimizer/criterion/scheduler builders), `codec` (safetensors wire format),
`targets` (label formatting), `local_training` (client training), `aggregation` (server
aggregation), `strategies` (FedAvg, FedProx, FedOpt family, FedGKT), `metrics` (validation
statistics), `alignment` (MFA and global scaling).
"""
