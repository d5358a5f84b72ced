"""One federated round under secure aggregation: the TTP learns only the sum of the updates.

Four stages, each with its own deadline of `round_timeout` seconds and each admitting only
the Workers that completed the one before: `fit` (local training; the reply carries the
Worker's public keys, its sample count and, when asked, the received model's evaluation
loss, but no training loss), `secagg-shares` (the roster of public keys out, encrypted
shares back), `secagg-masked` (the ciphertexts addressed to each Worker out, its masked
update back) and `secagg-unmask` (who survived and who dropped out, shares back). The TTP
then removes the masks (`synalgo.secure_aggregation.SecAggServer`) and gets the sum of the
survivors' weighted, clipped deltas to the round's global model.

Sample weighting: each Worker multiplies its clipped delta by w_k = n_k / max n (the train
rows it reported at initialisation), so the sum divided by the survivors' total weight is
the sample-weighted mean delta. The strategy then sees that mean as one update (the server
optimisers of the FedOpt family act on it). Up to N - threshold Workers may drop out after
sharing keys; dropping more fails the round naming the stage.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

import numpy as np
import torch

from synalgo.codec import encode
from synalgo.secure_aggregation import SecAggError, SecAggServer
from synalgo.secure_aggregation.config import round_params
from synalgo.secure_aggregation.vectors import apply_delta, vector_length
from synalgo.state import State
from synalgo.strategies.base import Strategy
from syncommon.clock import utc_now
from synergos_ttp.engine.errors import EngineError, WorkerCallError
from synergos_ttp.engine.parallel import call_all
from synergos_ttp.engine.privacy_records import reply_privacy, worker_dp
from synergos_ttp.engine.reply_checks import HEADER_ALLOWANCE, reply_evaluation
from synergos_ttp.engine.rounds import RoundOutcome, fit_body
from synergos_ttp.engine.worker_client import WorkerClient
from synergos_ttp.jobs import JobCancelled

HEADER_KEY = "secure_aggregation"
SHARE_BYTES = 1024  # one peer's ciphertext or share, base64, with room to spare


def run_secure_round(clients: list[WorkerClient], strategy: Strategy, route: str,
                     global_state: State, round_index: int, round_timeout: float,
                     min_workers: int, cancelled: threading.Event,
                     executor: Executor | None = None,
                     train_rows: dict[str, int] | None = None,
                     evaluate: bool = False) -> RoundOutcome:
    """Fit on every Worker and aggregate their updates through the four stages; the same
    contract as `rounds.run_round` (`train_rows`: the training rows each Worker reported)."""
    started, started_at = time.monotonic(), utc_now()
    number = round_index + 1
    ids = sorted(client.participant_id for client in clients)
    try:
        params = round_params(strategy.run, len(ids))
    except SecAggError as error:
        raise EngineError(str(error)) from None
    length = vector_length(global_state)
    server = SecAggServer(f"{route}|round {number}".encode(), params, length)
    weights = _weights(ids, train_rows or {})
    reports: dict[str, dict[str, Any]] = {}
    evaluations: dict[str, tuple[float, int]] = {}
    seconds: dict[str, float] = {}
    privacy_required = worker_dp(strategy.run) is not None

    def stage(name: str, members: list[WorkerClient], path: str, body: Callable[[str], bytes],
              limit: int, take: Callable[[str, dict[str, Any], dict[str, Any]], None]
              ) -> list[WorkerClient]:
        """One stage on `members`: the Workers whose answer `take` accepted."""
        if cancelled.is_set():
            raise JobCancelled(f"stopped during round {number}")
        stage_started = time.monotonic()
        deadline = stage_started + round_timeout
        try:
            results, failures = call_all(members, lambda client: client.exchange(
                f"{route}/{path}", body(client.participant_id), deadline, limit), executor,
                cancelled)
        except JobCancelled:
            raise JobCancelled(f"stopped during round {number} ({name})") from None
        for pid, (tensors, header) in results.items():
            try:
                take(pid, tensors, header)
            except (SecAggError, WorkerCallError) as problem:
                detail = problem.detail if isinstance(problem, WorkerCallError) else str(problem)
                failures[pid] = WorkerCallError(pid, detail, "rejected")
        for pid, failure in failures.items():
            reports[pid] = {**reports.get(pid, {}), "status": failure.kind,
                            "error": failure.detail, "stage": name}
        seconds[name] = round(time.monotonic() - stage_started, 4)
        return [client for client in members if client.participant_id not in failures]

    def take_keys(pid: str, tensors: dict[str, Any], header: dict[str, Any]) -> None:
        n_samples = header.get("n_samples")
        if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 0:
            raise SecAggError(f"bad n_samples {n_samples!r} in its reply")
        reported = (train_rows or {}).get(pid, n_samples)
        if n_samples > reported:
            raise SecAggError(f"claims {n_samples} samples, it reported {reported} train rows")
        if tensors:
            raise SecAggError("sent tensors with its keys: an update must travel masked")
        report: dict[str, Any] = {"status": "ok", "n_samples": n_samples}
        if privacy_required:
            report.update(reply_privacy(pid, header))
        evaluation = reply_evaluation(pid, header)
        server.receive_keys(pid, header.get(HEADER_KEY))  # last: the reply is accepted
        reports[pid] = report
        if evaluation is not None:
            evaluations[pid] = evaluation

    def take_masked(pid: str, tensors: dict[str, Any], header: dict[str, Any]) -> None:
        masked = tensors.get("masked")
        if (set(tensors) != {"masked"} or masked is None or masked.dtype != torch.int32
                or masked.dim() != 1):
            raise SecAggError("its masked input must be one 1-d int32 tensor 'masked'")
        server.receive_masked(pid, masked.numpy().view(np.uint32).copy())

    fit = fit_body(strategy, global_state, round_index, ids[0], evaluate, extra={HEADER_KEY: {
        "participants": ids, "weights": weights}})
    keyed = stage("fit", clients, "fit", lambda pid: fit, HEADER_ALLOWANCE, take_keys)
    try:
        roster = encode({}, {"round": number, **server.roster_message()})
        shared = stage("share keys", keyed, "secagg-shares", lambda pid: roster,
                       HEADER_ALLOWANCE + SHARE_BYTES * len(ids),
                       lambda pid, tensors, header: server.receive_shares(pid, header))
        server.check_shared()
        masked = stage("masked input", shared, "secagg-masked",
                       lambda pid: encode({}, {"round": number, **server.shares_message(pid)}),
                       HEADER_ALLOWANCE + 4 * length, take_masked)
        request = encode({}, {"round": number, **server.unmask_message()})
        stage("unmasking", masked, "secagg-unmask", lambda pid: request,
              HEADER_ALLOWANCE + SHARE_BYTES * len(ids),
              lambda pid, tensors, header: server.receive_unmask(pid, header))
        unmask_started = time.monotonic()
        total, survivors = server.result()
        seconds["remove masks"] = round(time.monotonic() - unmask_started, 4)
    except SecAggError as error:
        raise EngineError(f"round {number}: secure aggregation failed: {error} ("
                          + _failures(reports) + ")") from None
    for pid in survivors:  # its masked input arrived: its update is in the sum
        report = reports[pid]
        if report["status"] != "ok":  # it failed to send its unmasking shares
            report["unmasking_error"] = report.pop("error")
            report.pop("stage")
            report["status"] = "ok"
    if len(survivors) < min_workers:
        raise EngineError(f"round {number}: {len(survivors)} of {len(clients)} workers' updates "
                          f"were summed, min_workers is {min_workers} ({_failures(reports)})")
    update_started = time.monotonic()
    total /= sum(weights[pid] for pid in survivors)  # the weighted mean delta
    aggregator = strategy.start_round(global_state)
    aggregator.add(apply_delta(global_state, total), 1)
    state = strategy.finish_round(global_state, aggregator)
    seconds["new model"] = round(time.monotonic() - update_started, 4)
    notes = {"threshold": params.threshold, "survivors": survivors,
             "dropped": sorted(set(server.ciphertexts) - set(survivors)),
             "stage_seconds": seconds}
    ordered = {pid: reports[pid] for pid in sorted(reports)}
    return RoundOutcome(state, ordered, None, time.monotonic() - started, started_at,
                        evaluations=evaluations, secure_aggregation=notes)


def _weights(ids: list[str], train_rows: dict[str, int]) -> dict[str, float]:
    """w_k = n_k / max n over the Workers' reported train rows (1 where unknown)."""
    rows = {pid: train_rows.get(pid) for pid in ids}
    largest = max((count for count in rows.values() if count), default=0)
    return {pid: (count / largest if count and largest else 1.0)
            for pid, count in rows.items()}


def _failures(reports: dict[str, dict[str, Any]]) -> str:
    return "; ".join(f"{pid} {report['status']} at {report.get('stage')}: {report.get('error')}"
                     for pid, report in sorted(reports.items()) if report["status"] != "ok"
                     ) or "no Worker failed"
