"""FedGKT, Group Knowledge Transfer (He et al. 2020).

Split at layer `L`: the client model is the spec's first `L` layers (the feature extractor)
plus a new Linear head to `max(2, K)` class logits; the server model is the remaining layers,
resized to the same logits (its final activation removed). Each round:

1. client: local epochs on cross-entropy + alpha * KD(client logits, the server's logits for
   the same samples from the previous round, temperature); then it extracts features and
   logits for all its samples, in their original order, and sends features, logits and labels;
2. server: trains its model on every client's features for `server_epochs` with
   cross-entropy (+ alpha * KD towards the client logits when `whether_distill_on_the_server`)
   and computes fresh logits per client, sent back next round (`fit_tensors`).

KD is Hinton's `T^2 * KL(softmax(teacher/T) || softmax(student/T))`. Labels leave the
Workers, so the run must set `allow_label_sharing=true`. Client models stay on their Workers
(`sends_global_weights` is False); the global state is the server model's. The client model's
`forward` returns class probabilities, so it can be evaluated like any other model.
"""

from __future__ import annotations

import threading
from typing import Any

import torch
from torch import nn
from torch.nn import functional

from synalgo.errors import AggregationError, RunConfigError, TrainingError
from synalgo.hyperparameters import Hyperparameter, boolean, integer, number, optional
from synalgo.local_training import LocalFitResult, run_epochs
from synalgo.model_spec import SpecModel, build_model
from synalgo.seeding import seeded_rng
from synalgo.spec_surgery import as_logits_head
from synalgo.state import State
from synalgo.strategies.base import Aggregator, Strategy
from synalgo.strategies.fit import LocalFit
from synalgo.targets import class_indices

PAYLOAD_KEYS = ("features", "logits", "labels")
_SERVER_LOGITS = "server_logits."


class GKTClientModel(nn.Module):
    """Feature extractor (first L spec layers) plus a Linear head to class logits."""

    def __init__(self, body: SpecModel, feature_size: int, n_logits: int) -> None:
        super().__init__()
        self.body = body
        self.head = nn.Linear(feature_size, n_logits)

    def extract(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """`(features, logits)` for a batch."""
        features = self.body(x)
        return features, self.head(features.flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class probabilities (softmax of the head's logits)."""
        return functional.softmax(self.extract(x)[1], dim=1)


def logits_count(n_classes: int) -> int:
    """Number of class logits FedGKT models produce (binary tasks use two)."""
    return max(2, int(n_classes))


def split_point(spec: list[dict[str, Any]], split: Any) -> int:
    """Validated split index L (1 <= L < number of layers)."""
    if not isinstance(split, int) or isinstance(split, bool) or not 1 <= split < len(spec):
        raise RunConfigError(
            f"FedGKT needs L between 1 and {len(spec) - 1} for a {len(spec)}-layer model, "
            f"got {split!r}"
        )
    return split


def build_gkt_client_model(
    spec: list[dict[str, Any]], split: int, sample_x: torch.Tensor, n_classes: int,
    seed: int,
) -> GKTClientModel:
    """The client model; `sample_x` (a batch of inputs) fixes the feature size."""
    split = split_point(spec, split)
    with seeded_rng(seed):
        body = build_model(spec[:split])
        body.eval()  # a one-sample shape probe must not hit BatchNorm's training checks
        with torch.no_grad():
            feature_size = body(sample_x[:1]).flatten(1).shape[1]
        body.train()
        return GKTClientModel(body, feature_size, logits_count(n_classes))


def build_gkt_server_model(
    spec: list[dict[str, Any]], split: int, n_classes: int, seed: int
) -> SpecModel:
    """The server model: layers L.. of the spec, ending in raw class logits."""
    split = split_point(spec, split)
    return build_model(as_logits_head(spec[split:], logits_count(n_classes)), seed=seed)


def distillation_loss(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float
) -> torch.Tensor:
    """T^2 * KL(softmax(teacher/T) || softmax(student/T)), batch mean."""
    t = float(temperature)
    return functional.kl_div(
        functional.log_softmax(student_logits / t, dim=1),
        functional.softmax(teacher_logits.detach() / t, dim=1),
        reduction="batchmean",
    ) * (t * t)


def gkt_client_fit(
    model: GKTClientModel, X: torch.Tensor, y: torch.Tensor, run: dict[str, Any],  # noqa: N803
    server_logits: torch.Tensor | None = None, seed: int = 0,
) -> LocalFitResult:
    """Client step: train on CE (+ alpha * KD towards `server_logits`), then extract."""
    labels = class_indices(y)
    if labels.numel() and int(labels.max()) >= model.head.out_features:
        raise TrainingError(
            f"label {int(labels.max())} does not fit {model.head.out_features} class logits"
        )
    if server_logits is not None and server_logits.shape[0] != X.shape[0]:
        raise TrainingError(
            f"server logits cover {server_logits.shape[0]} samples, the client has {X.shape[0]}"
        )
    alpha, temperature = float(run["alpha"]), float(run["temperature"])
    device = _device_of(model)
    X, labels = X.to(device), labels.to(device)  # noqa: N806
    if server_logits is not None:
        server_logits = server_logits.to(device)

    def loss_of(indices: torch.Tensor) -> torch.Tensor:
        _, logits = model.extract(X[indices])
        loss = functional.cross_entropy(logits, labels[indices])
        if server_logits is not None and alpha:
            loss = loss + alpha * distillation_loss(logits, server_logits[indices], temperature)
        return loss

    history = run_epochs(model, loss_of, int(X.shape[0]), run, int(run["epochs"]), seed)
    model.eval()
    with torch.no_grad():
        features, logits = model.extract(X)
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    payload = {"features": features.cpu(), "logits": logits.cpu(), "labels": labels.cpu()}
    return LocalFitResult(state, int(X.shape[0]), history[-1], len(history), history, payload,
                          client_state=state)


def gkt_server_fit(
    server_model: nn.Module, features: torch.Tensor, labels: torch.Tensor,
    client_logits: torch.Tensor, run: dict[str, Any], seed: int = 0,
) -> tuple[torch.Tensor, list[float]]:
    """Server step: train on the clients' features; returns (fresh logits, loss history)."""
    labels = class_indices(labels)
    distil = bool(run["whether_distill_on_the_server"]) and float(run["alpha"]) > 0
    alpha, temperature = float(run["alpha"]), float(run["temperature"])
    device = _device_of(server_model)
    features, labels = features.to(device), labels.to(device)
    client_logits = client_logits.to(device)

    def loss_of(indices: torch.Tensor) -> torch.Tensor:
        logits = server_model(features[indices])
        loss = functional.cross_entropy(logits, labels[indices])
        if distil:
            loss = loss + alpha * distillation_loss(logits, client_logits[indices], temperature)
        return loss

    history = run_epochs(server_model, loss_of, int(features.shape[0]), run,
                         int(run["server_epochs"]), seed, use_scheduler=False)
    server_model.eval()
    with torch.no_grad():
        return server_model(features).detach().cpu(), history


class GKTCollector:
    """Collects each client's features, logits and labels for the server step."""

    def __init__(self) -> None:
        self.payloads: dict[str, State] = {}
        self.n_updates = 0
        self._lock = threading.Lock()

    def add(self, state: State, n_samples: int, participant_id: str | None = None) -> None:
        """Store one client's payload (`features`, `logits`, `labels`)."""
        if participant_id is None:
            raise AggregationError("FedGKT needs the participant_id of every payload")
        missing = [key for key in PAYLOAD_KEYS if key not in state]
        if missing:
            raise AggregationError(f"FedGKT payload lacks {', '.join(missing)}")
        sizes = {state[key].shape[0] for key in PAYLOAD_KEYS}
        if len(sizes) != 1:
            raise AggregationError("FedGKT payload tensors disagree on the number of samples")
        with self._lock:
            self.payloads[participant_id] = {key: state[key] for key in PAYLOAD_KEYS}
            self.n_updates = len(self.payloads)

    def result(self, like: State | None = None) -> State:
        """Every client's payload concatenated (in insertion order)."""
        if not self.payloads:
            raise AggregationError("no client payloads to train the FedGKT server on")
        return {
            key: torch.cat([payload[key] for payload in self.payloads.values()])
            for key in PAYLOAD_KEYS
        }


LABEL_SHARING = ("FedGKT sends every training label to the TTP; set allow_label_sharing=true "
                 "to accept that")


class FedGKT(Strategy):
    """Group Knowledge Transfer: clients keep their models; the server model is global."""

    name = "FedGKT"
    sends_global_weights = False
    hyperparameters = (
        Hyperparameter("L", None, optional(integer(1)),
                       description="index of the layer where the model is split (required)"),
        Hyperparameter("temperature", 3.0, number(0.0, low_open=True),
                       description="distillation temperature"),
        Hyperparameter("alpha", 0.5, number(0.0),
                       description="weight of the distillation term"),
        Hyperparameter("server_epochs", 1, integer(1),
                       description="epochs of the server model per round"),
        Hyperparameter("whether_distill_on_the_server", True, boolean,
                       description="also distil towards the client logits on the server"),
        Hyperparameter("allow_label_sharing", False, boolean,
                       description="must be true: FedGKT sends training labels to the TTP"),
    )

    @classmethod
    def check_run(cls, run: dict[str, Any]) -> dict[str, str]:
        """FedGKT needs `L` and label sharing; it sends features, not weights, so it takes
        neither DP, contributions nor compressed updates."""
        problems: dict[str, str] = {}
        if run.get("dp") is not None:
            problems["dp"] = ("differential privacy cannot be combined with FedGKT: FedGKT "
                              "sends training labels and features to the TTP")
        if run.get("contribution") is True:
            problems["contribution"] = ("FedGKT keeps its client models on the Workers: there "
                                        "are no coalition models to measure contributions with")
        if run.get("L") is None:
            problems["L"] = "is required by FedGKT (index of the layer where the model is split)"
        if run.get("allow_label_sharing") is not True:
            problems["allow_label_sharing"] = LABEL_SHARING
        if run.get("update_compression", "none") != "none":
            problems["update_compression"] = ("FedGKT replies are features and logits, not "
                                              "model weights: only \"none\" applies")
        return problems

    def reset_server_state(self) -> None:
        """No server logits before the first round; refuses a run without label sharing."""
        if self.run.get("allow_label_sharing") is not True:
            raise RunConfigError(LABEL_SHARING)
        self.server_logits: dict[str, torch.Tensor] = {}

    def _server_model(self, seed: int | None = None) -> SpecModel:
        if self.spec is None or self.n_classes is None:
            raise RunConfigError("FedGKT needs the model spec and n_classes on the server")
        seed = int(self.run["seed"] if seed is None else seed)
        return build_gkt_server_model(self.spec, self.run["L"], self.n_classes, seed)

    def initial_global_state(self, seed: int | None = None) -> State:
        """The server model's initial weights."""
        model = self._server_model(seed)
        return {k: v.detach().clone() for k, v in model.state_dict().items()}

    def configure_fit(
        self, global_state: State, round_index: int, participant_id: str | None = None
    ) -> dict[str, Any]:
        """Adds the split point and KD settings to the base config."""
        config = super().configure_fit(global_state, round_index, participant_id)
        config.update(L=self.run["L"], alpha=self.run["alpha"],
                      temperature=self.run["temperature"])
        return config

    def fit_tensors(self, participant_id: str | None = None) -> State:
        """The server's logits for this participant's samples, once a round has run."""
        if participant_id in self.server_logits:
            return {"server_logits": self.server_logits[participant_id]}
        return {}

    def start_round(self, global_state: State) -> GKTCollector:
        """A collector of client features/logits/labels."""
        return GKTCollector()

    def finish_round(self, global_state: State, aggregator: Aggregator) -> State:
        """Train the server model and keep fresh logits per participant."""
        if not isinstance(aggregator, GKTCollector):
            raise AggregationError("FedGKT finishes a round from the GKTCollector of its "
                                   f"start_round, not a {type(aggregator).__name__}")
        model = self._server_model()
        model.load_state_dict(global_state)
        pooled = aggregator.result()
        seed = int(self.run["seed"])
        logits, _ = gkt_server_fit(
            model, pooled["features"].float(), pooled["labels"], pooled["logits"].float(),
            self.run, seed,
        )
        start = 0
        for participant_id, payload in aggregator.payloads.items():
            count = payload["labels"].shape[0]
            self.server_logits[participant_id] = logits[start:start + count].clone()
            start += count
        return {k: v.detach().clone() for k, v in model.state_dict().items()}

    def state_dict(self) -> State:
        """The per-participant server logits (needed to resume)."""
        return {_SERVER_LOGITS + pid: t.clone() for pid, t in self.server_logits.items()}

    def load_state_dict(self, state: State) -> None:
        """Restore per-participant server logits."""
        self.server_logits = {
            k[len(_SERVER_LOGITS):]: v for k, v in state.items() if k.startswith(_SERVER_LOGITS)
        }

    def build_client_model(
        self,
        spec: list[dict[str, Any]],
        sample_x: torch.Tensor,
        n_classes: int,
        seed: int | None = None,
    ) -> GKTClientModel:
        """The client's extractor + head model."""
        seed = int(self.run["seed"] if seed is None else seed)
        return build_gkt_client_model(spec, self.run["L"], sample_x, n_classes, seed)

    def client_state_template(self, model: nn.Module) -> State:
        """The client model stays on the Worker between rounds."""
        return model.state_dict()

    def fit(self, fit: LocalFit) -> LocalFitResult:
        """Client step from the client's own previous model (`client_state`, or
        `global_state` where a caller passes it so), if any; the new one is kept."""
        model = fit.model
        if fit.action != "classify":
            raise RunConfigError("FedGKT supports classification projects only")
        if not isinstance(model, GKTClientModel):
            raise TrainingError("FedGKT trains the GKTClientModel of its build_client_model, "
                                f"not a {type(model).__name__}")
        start = fit.client_state if fit.client_state is not None else fit.global_state
        if start is not None:
            model.load_state_dict(start)
        server_logits = fit.tensors.get("server_logits")
        return gkt_client_fit(model, fit.X, fit.y, self.run, server_logits, fit.seed)


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters(), torch.zeros(0)).device
