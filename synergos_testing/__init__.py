"""A Synergos grid on one machine, for tests, benchmarks, the demos and the notebook.

`local_processes` starts nodes as subprocesses on 127.0.0.1 and stops every one it started;
`local_broker` runs a private, loopback-only RabbitMQ broker.
"""
