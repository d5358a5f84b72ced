"""One federated round: every Worker fits in parallel, replies are aggregated as they arrive.

Each Worker's data port gets the global weights (`fit`) with a per-call timeout equal to what
is left of the round deadline (`round_timeout`). Replies are received concurrently, each into
its own buffer bounded by the model's encoded size (`reply_checks.reply_size_limit`), and must
arrive whole by the deadline; a reply still arriving then is cut off and reported `timeout`.
Each reply is checked against the global model (`reply_checks`; a bad one is `rejected`) and
its update norm computed in its own receiving thread; only the fold runs under a lock: the
update bounded (`update_clip`) and added straight into the strategy's aggregator. When the
deadline passes the round closes: late replies are discarded, and Workers that failed, were
rejected or timed out are listed in the round report. The round goes on when at least
`min_workers` replies were accepted; otherwise `EngineError` names every other Worker and why.
With `evaluate` set, each Worker holding evaluate data also measures the model it received and
returns that loss in its fit reply (`RoundOutcome.evaluations`): the previous round's
evaluation costs no request of its own.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from synalgo.codec import encode
from synalgo.privacy.central_dp import CentralPrivacy
from synalgo.state import State
from synalgo.strategies.base import Aggregator, Strategy
from synalgo.update_clip import UpdateClipper
from syncommon.clock import utc_now
from synergos_ttp.engine.broadcast import Broadcast, Delta
from synergos_ttp.engine.errors import EngineError, WorkerCallError
from synergos_ttp.engine.parallel import call_all, executor_for, wait_for_calls
from synergos_ttp.engine.privacy_records import reply_privacy, round_privacy, worker_dp
from synergos_ttp.engine.reply_checks import (
    check_reply,
    expanded_reply,
    reply_evaluation,
    reply_size_limit,
)
from synergos_ttp.engine.worker_client import WorkerClient
from synergos_ttp.jobs import JobCancelled

Observer = Callable[[str, State, int], None]


@dataclass
class RoundOutcome:
    """What one round produced: the new global state and a report per participant."""

    state: State
    participants: dict[str, dict[str, Any]]
    train_loss: float | None
    seconds: float
    started_at: str = ""
    evaluate_loss: float | None = None
    evaluate_errors: dict[str, str] = field(default_factory=dict)
    evaluations: dict[str, tuple[float, int]] = field(default_factory=dict)
    privacy_notes: dict[str, Any] = field(default_factory=dict)
    secure_aggregation: dict[str, Any] | None = None  # threshold, survivors, dropped
    stopped: str | None = None  # why no round may follow this one (set by the training)

    def report(self, round_number: int) -> dict[str, Any]:
        """The JSON round report stored on the Model record."""
        report = {"round": round_number, "started_at": self.started_at,
                  "participants": self.participants, "seconds": round(self.seconds, 4),
                  "train_loss": self.train_loss, "evaluate_loss": self.evaluate_loss}
        if self.evaluate_errors:
            report["evaluate_errors"] = self.evaluate_errors
        if self.secure_aggregation is not None:
            report["secure_aggregation"] = self.secure_aggregation
        privacy = round_privacy(self.participants)
        if privacy is not None:
            report["privacy"] = {**privacy, **self.privacy_notes}
        return report


def fit_body(strategy: Strategy, global_state: State, round_index: int,
             participant_id: str, evaluate: bool = False, delta: Delta | None = None,
             extra: dict[str, Any] | None = None) -> bytes:
    """The codec body of one participant's `fit` call (`evaluate`: ask for the received
    model's loss on the Worker's evaluate data too; `delta`: send it instead of the model;
    `extra`: more header entries)."""
    if delta is not None:
        tensors = dict(delta.tensors)
    else:
        tensors = dict(global_state) if strategy.sends_global_weights else {}
    tensors.update(strategy.fit_tensors(participant_id))
    config = strategy.configure_fit(global_state, round_index, participant_id)
    header: dict[str, Any] = {"round": round_index + 1, "config": config}
    if evaluate:
        header["evaluate"] = True
    if delta is not None:
        header.update(delta.header)
    header.update(extra or {})
    return encode(tensors, header)


def run_round(clients: list[WorkerClient], strategy: Strategy, route: str, global_state: State,
              round_index: int, round_timeout: float, min_workers: int,
              cancelled: threading.Event, executor: Executor | None = None,
              train_rows: dict[str, int] | None = None, evaluate: bool = False,
              broadcast: Broadcast | None = None,
              observer: Observer | None = None,
              central: CentralPrivacy | None = None) -> RoundOutcome:
    """Fit on every Worker, aggregate, and return the new global state with the reports
    (the calls run on `executor` when given: a training keeps one for all its rounds).
    `train_rows`: the training rows each Worker reported, the most `n_samples` it may claim.
    `evaluate`: Workers with evaluate data also return the loss of `global_state` on it.
    `broadcast`: what the Workers hold, for compressed deltas (`broadcast.py`).
    `observer(participant_id, tensors, n_samples)` sees every update as it is folded.
    `central`: central DP, whose clip to C replaces `update_clip` (a median-based bound lets
    one Worker change how the others are clipped, which breaks the sensitivity bound). With
    `update_compression` each reply is first expanded against the model the Workers received,
    then clipped to C: the bound holds on what is folded, whatever the Worker sent."""
    started = time.monotonic()
    started_at = utc_now()
    deadline = started + round_timeout
    checked = strategy.sends_global_weights  # FedGKT replies are not model weights
    received, delta = (broadcast.prepare(global_state, round_index + 1) if broadcast
                       else (global_state, None))
    aggregator = strategy.start_round(global_state)
    central_round = None
    if central is not None:
        central_round = central.start_round(aggregator, received)
        aggregator = central_round
    round_state = RoundAggregation(
        aggregator, strategy.reply_template(received) if checked else None, train_rows,
        None if central is not None else strategy.run.get("update_clip"),
        float(strategy.run.get("clip_factor", 5.0)),
        strategy.run.get("update_compression", "none"), observer,
        privacy_required=worker_dp(strategy.run) is not None)
    shared = _shared_body(strategy, received, round_index, clients, evaluate)
    delta_body = (fit_body(strategy, received, round_index, clients[0].participant_id,
                           evaluate, delta) if delta is not None and shared is not None else None)

    def fit_one(client: WorkerClient) -> None:
        """One Worker's fit, its reply folded as soon as it arrives."""
        pid = client.participant_id
        if delta_body is not None and broadcast is not None and pid in broadcast.holders:
            body = delta_body
        else:
            body = shared if shared is not None else fit_body(
                strategy, received, round_index, pid, evaluate)
        client.fit(route, body, deadline, round_state.gate,
                   lambda tensors, header, checked: round_state.fold(pid, tensors, header,
                                                                     started, checked),
                   size_limit=round_state.size_limit,
                   check=lambda tensors, header: round_state.check(pid, tensors, header))

    with executor_for(len(clients), executor) as pool:
        futures = {client.participant_id: pool.submit(fit_one, client) for client in clients}
        try:
            wait_for_calls(futures.values(), cancelled, deadline)
            round_state.close()
        finally:
            for future in futures.values():
                future.cancel()  # not started yet: never will be
            if cancelled.is_set():  # calls still waiting for a Worker end now
                for client in clients:
                    client.abort_calls()
    if cancelled.is_set():
        raise JobCancelled(f"stopped during round {round_index + 1}")
    reports = round_state.reports
    for participant_id, future in futures.items():
        if participant_id in reports:
            continue
        if not future.done() or future.cancelled():
            reports[participant_id] = {"status": "timeout", "error": (
                f"no reply within the round deadline ({round_timeout:g} s)")}
            continue
        error = future.exception()
        kind = error.kind if isinstance(error, WorkerCallError) else "failed"
        detail = error.detail if isinstance(error, WorkerCallError) else (
            f"{type(error).__name__}: {error}" if error else "no reply")
        reports[participant_id] = {"status": kind, "error": detail}
    answered = [pid for pid, report in reports.items() if report["status"] == "ok"]
    if len(answered) < min_workers:
        missing = "; ".join(f"{pid} {report['status']}: {report.get('error', '')}"
                            for pid, report in sorted(reports.items())
                            if report["status"] != "ok")
        raise EngineError(f"round {round_index + 1}: {len(answered)} of {len(clients)} workers "
                          f"answered, min_workers is {min_workers} ({missing})")
    state = strategy.finish_round(global_state, round_state.aggregator)
    if broadcast is not None:
        broadcast.settle(received, round_index + 1, set(answered))
    ordered = {pid: reports[pid] for pid in sorted(reports)}
    notes: dict[str, Any] = {}
    if central_round is not None:
        spent = central_round.privacy.epsilon()
        for pid in answered:
            ordered[pid]["epsilon"] = spent  # client-level: every Worker's guarantee
        notes = {"mode": "central", **central_round.notes}
    return RoundOutcome(state, ordered, _weighted_loss(ordered),
                        time.monotonic() - started, started_at,
                        evaluations=round_state.evaluations, privacy_notes=notes)


def carried_evaluation(outcome: RoundOutcome, evaluate_rows: dict[str, int | None]
                       ) -> tuple[float | None, dict[str, str]]:
    """The sample-weighted evaluation loss carried by a round's fit replies (the loss of
    the model that round started from) and, per evaluator without a usable one, why.
    `evaluate_rows`: each evaluator's reported evaluate rows, the most it may claim."""
    errors = {}
    pairs = []
    for participant_id, rows in evaluate_rows.items():
        report = outcome.participants.get(participant_id, {})
        carried = outcome.evaluations.get(participant_id)
        if carried is None:
            errors[participant_id] = (report.get("error", "no reply")
                                      if report.get("status") != "ok"
                                      else "its fit reply carried no evaluation loss")
        elif rows is not None and carried[1] > rows:
            errors[participant_id] = (f"its evaluation claims {carried[1]} rows, it reported "
                                      f"{rows} evaluate rows")
        else:
            pairs.append(carried)
    return _weighted_mean(pairs), errors


def evaluate_global(clients: list[WorkerClient], route: str, state: State,
                    timeout: float, executor: Executor | None = None
                    ) -> tuple[float | None, dict[str, str]]:
    """Sample-weighted `evaluate` loss of `state` over the Workers that have evaluate data,
    and the errors of those that failed (None when nobody could evaluate). Only the loss is
    asked for: the statistics (scikit-learn, milliseconds a call) wait for validation."""
    if not clients:
        return None, {}
    body = encode(state, {"metas": ["evaluate"], "statistics": False})
    deadline = time.monotonic() + timeout
    results, failures = call_all(clients, lambda c: c.evaluate(route, body, deadline),
                                  executor)
    pairs = []
    for result in results.values():
        entry = result.get("evaluate") if isinstance(result, dict) else None
        if isinstance(entry, dict) and _finite(entry.get("loss")):
            pairs.append((float(entry["loss"]), _count(entry.get("n_samples"))))
    errors = {pid: error.detail for pid, error in failures.items()}
    return _weighted_mean(pairs), errors


@dataclass
class CheckedReply:
    """What `RoundAggregation.check` found of one reply: its sample count and update norm."""

    n_samples: int
    norm: float | None
    tensors: State  # the reply, expanded to float32 when it travelled compressed
    evaluation: tuple[float, int] | None  # the evaluate loss it carried, and its rows


class RoundAggregation:
    """The aggregator and the reports of one round. `check` reads no shared state and may run
    in any thread; `fold` must be called with `gate` held (`WorkerClient.fit` does), so one
    reply is folded at a time; after `close` late replies are refused. With `global_state`,
    every reply is checked against it (`reply_checks`) and its update bounded by `clip`
    (`synalgo.update_clip`); with `privacy_required` (Worker-side DP) it must report the ε its
    Worker spent."""

    def __init__(self, aggregator: Aggregator, global_state: State | None = None,
                 train_rows: dict[str, int] | None = None, clip: Any = None,
                 clip_factor: float = 5.0, compression: str = "none",
                 observer: Observer | None = None, privacy_required: bool = False) -> None:
        self.aggregator = aggregator
        self.observer = observer
        self.privacy_required = privacy_required
        self.gate = threading.Lock()
        self.reports: dict[str, dict[str, Any]] = {}
        self.evaluations: dict[str, tuple[float, int]] = {}
        self.compression = compression
        self.global_state = global_state
        self.train_rows = train_rows or {}
        self.size_limit = reply_size_limit(global_state) if global_state is not None else None
        self.clipper = UpdateClipper(clip if global_state is not None else None, clip_factor,
                                     global_state or {}, self._add)
        self._closed = False

    def check(self, participant_id: str, tensors: State,
              header: dict[str, Any]) -> CheckedReply:
        """Check one reply (raising `WorkerCallError` when it is bad) and compute its update
        norm; touches nothing shared, so the receiving threads run it side by side."""
        if self.global_state is not None:
            tensors = expanded_reply(participant_id, tensors, header, self.global_state,
                                     self.compression)
            n_samples = check_reply(participant_id, tensors, header, self.global_state,
                                    self.train_rows.get(participant_id))
            return CheckedReply(n_samples, self.clipper.norm(tensors), tensors,
                                reply_evaluation(participant_id, header))
        claimed = header.get("n_samples")
        if isinstance(claimed, bool) or not isinstance(claimed, int) or claimed < 0:
            raise WorkerCallError(participant_id, f"bad n_samples {claimed!r} in its reply")
        if not _finite(header.get("loss")):
            raise WorkerCallError(participant_id, f"bad loss {header.get('loss')!r} in its reply")
        return CheckedReply(claimed, None, tensors, reply_evaluation(participant_id, header))

    def fold(self, participant_id: str, tensors: State, header: dict[str, Any],
             started: float, checked: CheckedReply | None = None) -> None:
        """Fold one reply's tensors into the aggregator (checking it first unless `checked`
        holds what `check` found; its tensors are the reply expanded to float32)."""
        if self._closed:
            raise WorkerCallError(participant_id, "replied after the round closed", "timeout")
        if checked is None:
            checked = self.check(participant_id, tensors, header)
        report = {"status": "ok", "loss": float(header["loss"]), "n_samples": checked.n_samples,
                  "seconds": round(time.monotonic() - started, 4)}
        if self.privacy_required:
            report.update(reply_privacy(participant_id, header))
        if isinstance(header.get("epochs_run"), int):
            report["epochs_run"] = header["epochs_run"]
        self.clipper.add(checked.tensors, checked.n_samples, participant_id, checked.norm)
        self.reports[participant_id] = report
        if checked.evaluation is not None:
            self.evaluations[participant_id] = checked.evaluation

    def close(self) -> None:
        """Refuse every later reply; fold the updates the clipper still holds."""
        with self.gate:
            self._closed = True
            self.clipper.flush()
            for participant_id, note in self.clipper.notes.items():
                if participant_id in self.reports:
                    self.reports[participant_id].update(note)

    def _add(self, tensors: State, n_samples: int, participant_id: str) -> None:
        try:
            self.aggregator.add(tensors, n_samples, participant_id=participant_id)
        except ValueError as error:
            raise WorkerCallError(participant_id, f"its update cannot be aggregated: {error}"
                                  ) from None
        if self.observer is not None:
            self.observer(participant_id, tensors, n_samples)


def _shared_body(strategy: Strategy, state: State, round_index: int,
                 clients: list[WorkerClient], evaluate: bool = False) -> bytes | None:
    """One body for every Worker when nothing in it depends on the participant."""
    ids = [client.participant_id for client in clients]
    if not ids or any(strategy.fit_tensors(pid) for pid in ids):
        return None
    configs = [strategy.configure_fit(state, round_index, pid) for pid in ids]
    if any(config != configs[0] for config in configs):
        return None
    return fit_body(strategy, state, round_index, ids[0], evaluate)


def _weighted_loss(reports: dict[str, dict[str, Any]]) -> float | None:
    return _weighted_mean([(report["loss"], report["n_samples"]) for report in reports.values()
                           if report["status"] == "ok"])


def _weighted_mean(pairs: list[tuple[float, int]]) -> float | None:
    if not pairs:
        return None
    total = sum(count for _, count in pairs)
    if total <= 0:
        return sum(loss for loss, _ in pairs) / len(pairs)
    return sum(loss * count for loss, count in pairs) / total


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
