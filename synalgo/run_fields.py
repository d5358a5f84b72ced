"""The platform's run vocabulary: the fields every strategy shares, component allow-lists.

Fields that only one strategy reads are declared by that strategy (`Strategy.hyperparameters`);
`synalgo.run_config` joins both into `RUN_DEFAULTS`, `FIELD_CHECKS` and `RESERVED_FIELDS`.
"""

from __future__ import annotations

from typing import Any

AGGREGATORS: tuple[str, ...] = ("mean", "median", "trimmed_mean", "krum")
CONTRIBUTION_METHODS: tuple[str, ...] = ("auto", "exact", "gtg")

OPTIMIZER_ALLOW_LIST: tuple[str, ...] = (
    "SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Adadelta", "Adamax", "NAdam", "RAdam",
)
CRITERION_ALLOW_LIST: tuple[str, ...] = (
    "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss",
    "SmoothL1Loss", "HuberLoss", "KLDivLoss", "PoissonNLLLoss", "MultiLabelSoftMarginLoss",
    "MultiMarginLoss", "SoftMarginLoss", "HingeEmbeddingLoss",
)
SCHEDULER_ALLOW_LIST: tuple[str, ...] = (
    "CyclicLR", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
    "ReduceLROnPlateau", "LambdaLR", "ConstantLR", "LinearLR", "OneCycleLR",
)

# The platform's fields and their defaults (a strategy's own fields come from the strategy).
PLATFORM_DEFAULTS: dict[str, Any] = {
    "algorithm": "FedProx",
    "rounds": 10,
    "epochs": 100,
    "lr": 0.001,
    "weight_decay": 0.0,
    "lr_decay": 0.1,
    "l1_lambda": 0.0,
    "l2_lambda": 0.0,
    "optimizer": "SGD",
    "criterion": "BCELoss",
    "lr_scheduler": "CyclicLR",
    "delta": 0.0,
    "patience": 10,
    "seed": 42,
    "batch_size": None,
    # federation control
    "round_timeout": 600.0,
    "min_workers": None,
    # contribution (Shapley values per round)
    "contribution": False,
    "contribution_metric": None,
    "contribution_method": "auto",
    # robust aggregation
    "aggregator": "mean",
    "trim_ratio": 0.1,
    "krum_byzantine": 0,
    # norm bounding of client updates ("auto" | L2 bound | None)
    "update_clip": "auto",
    "clip_factor": 5.0,
    # what Workers send: "none" | "float16" | "int8" (synalgo.compression)
    "update_compression": "none",
    # differential privacy (`synalgo.privacy.config`; None = off)
    "dp": None,
    # secure aggregation (`synalgo.secure_aggregation.config`)
    "secure_aggregation": False,
    "secagg_clip": 8.0,
    "secagg_bits": 22,
    "secagg_threshold": None,
}

# Accepted (type-checked) and stored only when given, so Synergos 1 run bodies still validate;
# they are not defaults of every run. Training reads none of them; `is_snn: true` only refuses
# an `update_compression` other than "none".
INFORMATIONAL_FIELDS: tuple[str, ...] = (
    "is_condensed", "precision_fractional", "is_snn",
    "input_size", "output_size", "use_CLR", "cumulative_delta",
)
# Identifiers that may travel with a run body; kept unchanged.
IDENTIFIER_FIELDS: tuple[str, ...] = ("project_id", "expt_id", "run_id")
