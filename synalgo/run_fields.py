"""The platform's run vocabulary: the fields every strategy shares, component allow-lists.

Each field is declared once (`Hyperparameter`: default, check, JSON schema, description).
Fields that only one strategy reads are declared by that strategy (`Strategy.hyperparameters`);
`synalgo.run_config` joins both into `RUN_DEFAULTS`, `FIELD_CHECKS` and `RESERVED_FIELDS`,
`synalgo.run_schema` into the REST API's and the archive's run schemas.
"""

from __future__ import annotations

import math
from typing import Any

from synalgo.compression import MODES
from synalgo.contribution.utility import ALL_METRICS
from synalgo.hyperparameters import (
    Hyperparameter,
    Rule,
    boolean,
    integer,
    number,
    one_of,
    optional,
)
from synarchive.tables import TABLES

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



def _update_clip(value: Any) -> str | None:
    if value is None or value == "auto":
        return None
    if (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0):
        return None
    return 'must be "auto", a number > 0 (an L2 bound) or null (off)'


def _update_compression(value: Any) -> str | None:
    return None if value in MODES else "must be one of " + ", ".join(map(repr, MODES))


def _seed(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63:
        return None
    return "must be an integer between 0 and 2**63 - 1"


_NAME = {"type": "string"}
_OPTIONAL_NAME = {"type": ["string", "null"]}
F = Hyperparameter
_NO_EFFECT = "accepted for compatibility; no effect"
# The platform's fields. A check of None: `synalgo.run_config` checks the field with others
# (component names against their allow-lists, `dp`, the secure-aggregation fields).
PLATFORM_FIELDS: tuple[Hyperparameter, ...] = (
    F("algorithm", "FedProx", None, _NAME,
      description="federated strategy: FedProx, FedAvg, ... (docs/algorithms.md)"),
    F("rounds", 10, integer(1), description="global rounds"),
    F("epochs", 100, integer(1), description="local epochs per round"),
    F("lr", 0.001, number(0.0, low_open=True), description="learning rate"),
    F("weight_decay", 0.0, number(0.0), description="the optimizer's weight decay"),
    F("lr_decay", 0.1, number(0.0), description="LambdaLR factor: lr / (1 + lr_decay * epoch)"),
    F("l1_lambda", 0.0, number(0.0), description="L1 penalty of the local loss"),
    F("l2_lambda", 0.0, number(0.0), description="L2 penalty of the local loss"),
    F("optimizer", "SGD", None, _NAME, description="torch.optim class"),
    F("criterion", "BCELoss", None, _NAME, description="torch.nn loss class"),
    F("lr_scheduler", "CyclicLR", None, _OPTIONAL_NAME,
      description="torch.optim.lr_scheduler class; null: none"),
    F("delta", 0.0, number(0.0), description="early-stopping minimum improvement"),
    F("patience", 10, integer(1), description="early-stopping patience"),
    F("seed", 42, Rule(_seed, {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}),
      description="random seed"),
    F("batch_size", None, optional(integer(1)), description="null: full batch"),
    # federation control
    F("round_timeout", 600.0, number(0.0, low_open=True),
      description="seconds a round waits for the Workers"),
    F("min_workers", None, optional(integer(1)),
      description="Workers a round needs; null: every one"),
    # contribution (Shapley values per round)
    F("contribution", False, boolean, description="score each Worker's contribution per round"),
    F("contribution_metric", None, optional(one_of(ALL_METRICS)),
      description="metric of the contribution scores; null: the task's default"),
    F("contribution_method", "auto", one_of(CONTRIBUTION_METHODS),
      description="exact Shapley values, GTG sampling, or auto"),
    # robust aggregation
    F("aggregator", "mean", None, _NAME, description=", ".join(AGGREGATORS)),
    F("trim_ratio", 0.1, number(0.0, 0.5, high_open=True),
      description="share trimmed at each end (trimmed_mean)"),
    F("krum_byzantine", 0, integer(0), description="Byzantine Workers Krum tolerates"),
    # norm bounding of client updates
    F("update_clip", "auto", Rule(_update_clip, {"anyOf": [
        {"const": "auto"}, {"type": "number", "exclusiveMinimum": 0}, {"type": "null"}]}),
      description='"auto": an update over clip_factor x the round\'s median update norm is '
                  "scaled down to the median norm; a number: a fixed L2 bound; null: off"),
    F("clip_factor", 5.0, number(1.0),
      description='multiple of the median update norm beyond which update_clip "auto" '
                  "scales an update down"),
    F("update_compression", "none", Rule(_update_compression, {"enum": list(MODES)}),
      description='what Workers and the TTP send: "none" (float32 weights), "float16" or '
                  '"int8" deltas'),
    # differential privacy (`synalgo.privacy.config`)
    F("dp", None, None, {"type": ["object", "null"]},
      description='differential privacy: {"mode": "worker", "noise_multiplier" and/or '
                  '"target_epsilon", "max_grad_norm" (1.0), "delta" (1e-5)} for DP-SGD on '
                  'each Worker, or {"mode": "central", "noise_multiplier", "clip" (0.1), '
                  '"adaptive_clip" (false), "delta", "target_epsilon"}; null: off'),
    # secure aggregation (`synalgo.secure_aggregation.config`)
    F("secure_aggregation", False, None, {"type": "boolean"},
      description="true: the TTP learns only the sum of the Workers' updates (pairwise "
                  "masking)"),
    F("secagg_clip", 8.0, None, {"type": "number", "exclusiveMinimum": 0},
      description="secure aggregation: each update coordinate is clipped to [-c, c]"),
    F("secagg_bits", 22, None, {"type": "integer", "minimum": 1, "maximum": 31},
      description="secure aggregation: quantisation bits"),
    F("secagg_threshold", None, None, {"type": ["integer", "null"], "minimum": 2},
      description="secure aggregation: shares that reconstruct a secret "
                  "(null: max(2, ceil(2N/3)))"),
)
PLATFORM_DEFAULTS: dict[str, Any] = {field.name: field.default for field in PLATFORM_FIELDS}

# Accepted (type-checked) and stored only when given, so Synergos 1 run bodies still validate;
# they are not defaults of every run. Training reads none of them; `is_snn: true` only refuses
# an `update_compression` other than "none".
INFORMATIONAL_DECLARATIONS: tuple[Hyperparameter, ...] = (
    F("is_condensed", None, boolean, description=_NO_EFFECT),
    F("precision_fractional", None, integer(0), description=_NO_EFFECT),
    F("is_snn", None, boolean, description=_NO_EFFECT),
    F("input_size", None, optional(integer(0)), description=_NO_EFFECT),
    F("output_size", None, optional(integer(0)), description=_NO_EFFECT),
    F("use_CLR", None, optional(boolean), description=_NO_EFFECT),
    F("cumulative_delta", None, optional(boolean), description=_NO_EFFECT),
)
INFORMATIONAL_FIELDS: tuple[str, ...] = tuple(field.name for field in INFORMATIONAL_DECLARATIONS)
# Identifiers that may travel with a run body; kept unchanged.
IDENTIFIER_FIELDS: tuple[str, ...] = TABLES["Run"].key_fields
