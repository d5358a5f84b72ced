"""Federated training of one experiment x run combination.

normalise the run -> strategy -> initialise every Worker in parallel -> per round: fit on all
Workers in parallel with a deadline, aggregate as replies arrive, apply `min_workers`, global
train loss (sample-weighted mean of the local losses), global evaluate loss (Workers with
evaluate data measure each round's model when the next round's fit reaches them, in the
same exchange; the last round's model in one evaluate call), global early stopping on it, the
privacy-budget stop (DP: before any Worker's next round would pass `target_epsilon`; known
from the round's own fit replies, so no round is fitted past it), checkpoint -> final weights,
Model record,
MLflow -> terminate the Workers (also on failure). A resumed job restarts at the round after
its last checkpoint.
"""

from __future__ import annotations

import logging
import shutil
from functools import partial
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from synalgo.errors import AlgoError
from synalgo.local_training import EarlyStopping
from synalgo.model_spec import build_model
from synalgo.privacy.central_dp import CentralPrivacy, update_noise_multiplier
from synalgo.state import State
from synalgo.strategies import get_strategy
from synergos_ttp.engine.broadcast import Broadcast
from synergos_ttp.engine.checkpoints import (
    FINAL_WEIGHTS,
    load_checkpoint,
    save_weights,
)
from synergos_ttp.engine.combinations import Combination, read_required
from synergos_ttp.engine.contribution import ContributionMeter
from synergos_ttp.engine.contribution_record import build_record, store_contribution
from synergos_ttp.engine.errors import EngineError
from synergos_ttp.engine.grid import build_grid
from synergos_ttp.engine.history import fresh_history, restore_history
from synergos_ttp.engine.model_record import build_model_record
from synergos_ttp.engine.parallel import call_pool
from synergos_ttp.engine.privacy_records import (
    BUDGET_STOP,
    budget_stop,
    privacy_metrics,
    worker_dp,
)
from synergos_ttp.engine.round_writer import RoundWriter
from synergos_ttp.engine.rounds import (
    RoundOutcome,
    carried_evaluation,
    evaluate_global,
    run_round,
)
from synergos_ttp.engine.run_lifecycle import (
    class_count,
    has_meta,
    initialise_workers,
    load_run,
    meta_rows,
    terminate_workers,
)
from synergos_ttp.engine.secure_rounds import run_secure_round
from synergos_ttp.engine.settings import EngineEnv
from synergos_ttp.engine.worker_client import WorkerClient
from synergos_ttp.jobs import JobContext
from synergos_ttp.tracking import round_metrics

logger = logging.getLogger(__name__)
REPLAY_FOLDER = "contribution_replay"


class CombinationTrainer:
    """Trains one combination inside a job; `train()` returns the stored Model record.
    With `replay` (run fields turning `contribution` on), it retrains a trained run from its
    seed in a scratch folder to measure contributions afterwards: no Model record, no MLflow
    rounds, and `train()` returns the Contribution record."""

    def __init__(self, env: EngineEnv, job: JobContext, combination: Combination,
                 label: str = "", resume_from: dict[str, Any] | None = None,
                 replay: dict[str, Any] | None = None) -> None:
        self.env = env
        self.replay = replay
        self.tracker = None if replay is not None else env.tracker
        self.job = job
        self.combination = combination
        self.label = label or combination.route
        self.resume_from = resume_from
        archive = env.archive
        project = read_required(archive, "Project", {"project_id": combination.project_id},
                                f"project {combination.project_id!r}")
        experiment = read_required(archive, "Experiment", {
            "project_id": combination.project_id, "expt_id": combination.expt_id},
            f"experiment {combination.expt_id!r}")
        self.action = project["action"]
        self.spec = experiment["model"]
        self.run = {**load_run(archive, combination), **(replay or {})}
        if replay is not None and self.run.get("dp") is not None:
            raise EngineError(f"run {combination.route} uses dp: replaying it to measure "
                              "contributions afterwards would train on the Workers' data again "
                              "and spend its privacy budget a second time; set contribution "
                              "true on the run to measure them during its training")
        self.grid = build_grid(archive, combination.project_id, env.settings.grid)
        participant_ids = [node.participant_id for node in self.grid]
        self.n_classes = class_count(archive, combination.project_id, self.action,
                                     participant_ids)
        try:
            self.strategy = get_strategy(self.run, spec=self.spec, n_classes=self.n_classes)
        except AlgoError as error:
            raise EngineError(str(error)) from None
        if worker_dp(self.run) is not None:
            from synalgo.privacy.worker_dp import unsupported_layers  # Opacus: lazily

            problems = unsupported_layers(build_model(self.spec))
            if problems:
                raise EngineError("the model cannot be trained with DP-SGD: "
                                  + "; ".join(problems.values()))
        self.central = self._central_privacy()
        self.min_workers = self.run["min_workers"] or len(self.grid)
        if self.min_workers > len(self.grid):
            raise EngineError(f"min_workers is {self.min_workers} but the grid has only "
                              f"{len(self.grid)} worker(s)")
        self.run_dir = env.settings.run_dir(combination.project_id, combination.expt_id,
                                            combination.run_id)
        if replay is not None:
            self.run_dir = self.run_dir / REPLAY_FOLDER
            shutil.rmtree(self.run_dir, ignore_errors=True)
        self._evaluators: list[WorkerClient] = []
        self._train_rows: dict[str, int] = {}  # the most n_samples each Worker may claim
        self._meter: ContributionMeter | None = None
        self._contributions: dict[int, dict[str, Any]] = {}  # round -> until it is recorded
        self._evaluate_rows: dict[str, int | None] = {}  # the same, for evaluation losses

    def _central_privacy(self) -> CentralPrivacy | None:
        dp = self.run.get("dp")
        if not isinstance(dp, dict) or dp["mode"] != "central":
            return None
        central = CentralPrivacy(dp)
        try:
            update_noise_multiplier(central.noise_multiplier, len(self.grid), central.adaptive)
        except ValueError as error:
            raise EngineError(f"central DP: {error}") from None
        if not central.next_round_allowed():
            raise EngineError(f"central DP: one round spends epsilon {central.epsilon(1):.4g} "
                              f"> target_epsilon {central.target_epsilon:g}; raise "
                              "noise_multiplier")
        return central

    def _budget_stop(self, outcome: RoundOutcome) -> str | None:
        """`BUDGET_STOP` when no round may follow the one just fitted: a Worker's reported
        ε for its next round (Worker-side DP), or the TTP's account (central DP), would pass
        `target_epsilon`. Decided right after the fit (its replies carry the ε), before the
        next round starts: Workers refuse a fit past their budget, and central DP counts a
        round as spent when it is aggregated. Recorded when the round is closed."""
        stop = budget_stop(self.run, outcome.participants)
        if self.central is not None and not self.central.next_round_allowed():
            stop = BUDGET_STOP
        return stop

    def train(self) -> dict[str, Any]:
        """Run every remaining round and store the Model record."""
        clients = [WorkerClient(node, self.env.settings) for node in self.grid]
        tracker = self.tracker
        try:
            active, excluded = self._initialise(clients)
            state, history = self._start_history()
            if tracker is not None:
                tracker.start_run(*self.combination.ids, self.run,
                                  resume=self.resume_from is not None)
            state = self._train_rounds(state, active, excluded, history)
            record = self._finish(state, history, excluded)
            if tracker is not None:
                tracker.end_run(self.combination.ids, succeeded=True)
            return record
        except BaseException:
            if tracker is not None:
                tracker.end_run(self.combination.ids, succeeded=False)
            raise
        finally:
            terminate_workers(clients, self.combination)
            for client in clients:
                client.close()

    # ----------------------------------------------------------------- steps
    def _initialise(self, clients: list[WorkerClient]
                    ) -> tuple[list[WorkerClient], dict[str, str]]:
        body = {"action": self.action, "model": self.spec, "run": self.run}
        answers, errors = initialise_workers(clients, self.combination, body)
        active = [client for client in clients if client.participant_id in answers]
        if len(active) < self.min_workers:
            raise EngineError(f"initialise: {len(active)} of {len(clients)} workers ready, "
                              f"min_workers is {self.min_workers} (" + "; ".join(
                                  f"{pid}: {error}" for pid, error in sorted(errors.items()))
                              + ")")
        self._evaluators = [client for client in active
                            if has_meta(answers[client.participant_id], "evaluate")]
        rows = {client.participant_id: meta_rows(answers[client.participant_id], "train")
                for client in active}
        self._train_rows = {pid: count for pid, count in rows.items() if count is not None}
        if self.run.get("contribution"):
            self._meter = ContributionMeter(self.strategy, self.action, self.run,
                                            self._evaluators, self.combination.route)
            self._meter.check_participants(len(active))
        self._evaluate_rows = {client.participant_id: meta_rows(answers[client.participant_id],
                                                                "evaluate")
                               for client in self._evaluators}
        return active, errors

    def _start_history(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """The global state and history to start from: a checkpoint's, or round 0's."""
        if self.resume_from and self.resume_from.get("path"):
            state, server_state, document = load_checkpoint(Path(self.resume_from["path"]))
            self.strategy.load_state_dict(server_state)
            logger.info("training resumed", extra={"route": self.combination.route,
                                                   "round": document.get("round")})
            history = restore_history(self.run_dir, document)
            if self.central is not None:
                self.central.resume(history["rounds"])
            return state, history
        state = self.strategy.initial_global_state(int(self.run["seed"]))
        return state, fresh_history(self.run_dir)

    def _train_rounds(self, state: dict[str, torch.Tensor], active: list[WorkerClient],
                      excluded: dict[str, str], history: dict[str, Any]
                      ) -> dict[str, torch.Tensor]:
        """Every remaining round. A round's evaluation loss comes back with the next round's
        fit replies, so a round is closed (recorded, checkpointed) one exchange later; the
        last one is evaluated on its own."""
        total = int(self.run["rounds"])
        stopper = EarlyStopping(int(self.run["patience"]), float(self.run["delta"]))
        stopper.best_score = history["early_stopping"]["best_score"]
        stopper.stale_epochs = history["early_stopping"]["stale"]
        self.job.report_progress(history["round"], total, f"{self.label}: starting")
        route = self.combination.route
        timeout = float(self.run["round_timeout"])
        evaluate_rows = {client.participant_id: self._evaluate_rows.get(client.participant_id)
                         for client in self._evaluators}
        calls = call_pool(len(active))
        broadcast = Broadcast(self.run["update_compression"], int(self.run["seed"]))
        pending: tuple[int, RoundOutcome, State] | None = None  # awaiting its evaluation
        meter = self._meter
        observer = meter.updates.observe if meter is not None else None
        index = history["round"]
        try:
            with RoundWriter(self.run_dir, self.job, self.combination.as_json()) as writer:
                close = partial(self._close_round, history=history, stopper=stopper,
                                writer=writer, excluded=excluded)
                try:
                    while (index < total and not history["stopped_early"]
                           and not history.get("stopped")):
                        self.job.raise_if_cancelled()
                        if self.run.get("secure_aggregation"):
                            outcome = run_secure_round(
                                active, self.strategy, route, state, index, timeout,
                                self.min_workers, self.job.cancelled, calls,
                                self._train_rows, evaluate=pending is not None)
                        else:
                            outcome = run_round(active, self.strategy, route, state, index,
                                                timeout, self.min_workers, self.job.cancelled,
                                                calls, self._train_rows,
                                                evaluate=pending is not None,
                                                broadcast=broadcast, observer=observer,
                                                central=self.central)
                        outcome.stopped = self._budget_stop(outcome)
                        if meter is not None:
                            self._contributions[index + 1] = meter.measure(index + 1, state,
                                                                           calls)
                        if pending is not None:
                            pending[1].evaluate_loss, pending[1].evaluate_errors = \
                                carried_evaluation(outcome, evaluate_rows)
                            close(*pending)
                            pending = None
                            if history["stopped_early"] or history.get("stopped"):
                                break  # the round just fitted is past the stop: dropped
                        index += 1
                        state = outcome.state
                        finished = (index, outcome, _copied(self.strategy.state_dict()))
                        if evaluate_rows:
                            pending = finished
                        else:
                            close(*finished)
                        if outcome.stopped is not None:
                            break  # no round may follow: its model is evaluated below
                    if pending is not None:
                        self.job.raise_if_cancelled()
                        pending[1].evaluate_loss, pending[1].evaluate_errors = evaluate_global(
                            self._evaluators, route, pending[1].state, timeout, calls)
                        close(*pending)
                        pending = None
                except BaseException:
                    if pending is not None:  # keep the finished round, unevaluated
                        try:
                            close(*pending)
                        except Exception:  # the first error is the one to raise
                            logger.exception("could not record round %s", pending[0])
                    raise
        finally:
            calls.shutdown(wait=False, cancel_futures=True)
        return state

    def _close_round(self, number: int, outcome: RoundOutcome, server_state: State,
                     history: dict[str, Any], stopper: EarlyStopping, writer: RoundWriter,
                     excluded: dict[str, str]) -> None:
        """Record a finished round, apply early stopping, queue it for disk and MLflow."""
        total = int(self.run["rounds"])
        self._record_round(history, number, outcome, excluded)
        if number in self._contributions:
            history["rounds"][-1]["contribution"] = self._contributions.pop(number)
        if outcome.evaluate_loss is not None and stopper.update(outcome.evaluate_loss):
            history["stopped_early"] = True
        history["stopped"] = outcome.stopped
        history["early_stopping"] = {"best_score": stopper.best_score,
                                     "stale": stopper.stale_epochs}
        writer.submit(number, total, outcome.state, server_state, history,
                      f"{self.label}: round {number} of {total}")
        if self.tracker is not None:
            self.tracker.log_round(self.combination.ids, number, {**round_metrics(
                outcome.train_loss, outcome.evaluate_loss,
                {pid: report["loss"] for pid, report in outcome.participants.items()
                 if report["status"] == "ok" and "loss" in report}),
                **privacy_metrics(history["rounds"][-1])})

    def _record_round(self, history: dict[str, Any], number: int, outcome: Any,
                      excluded: dict[str, str]) -> None:
        key = str(number)
        history["round"] = number
        if outcome.train_loss is not None:
            history["train"][key] = outcome.train_loss
        if outcome.evaluate_loss is not None:
            history["evaluate"][key] = outcome.evaluate_loss
        for pid, report in outcome.participants.items():
            if report["status"] == "ok" and "loss" in report:  # none under secure aggregation
                history["local"].setdefault(pid, {})[key] = report["loss"]
        report = outcome.report(number)
        for pid, error in excluded.items():
            report["participants"][pid] = {"status": "failed",
                                           "error": f"not initialised: {error}"}
        history["rounds"].append(report)
        logger.info("round finished", extra={"route": self.combination.route, "round": number,
                                             "seconds": round(outcome.seconds, 3),
                                             "train_loss": outcome.train_loss})

    def _finish(self, state: dict[str, torch.Tensor], history: dict[str, Any],
                excluded: dict[str, str]) -> dict[str, Any]:
        if self.replay is not None:
            replayed = self._store_contribution(history, "afterwards",
                                                self._replay_matches(state))
            shutil.rmtree(self.run_dir, ignore_errors=True)
            return replayed
        path = save_weights(self.run_dir / FINAL_WEIGHTS, state,
                            {"route": self.combination.route, "round": str(history["round"])})
        record = build_model_record(self.run, history, path, self.run_dir, self.grid, excluded)
        stored = self.env.archive.table("Model").create(self.combination.key, record)
        if self.env.tracker is not None:
            self.env.tracker.log_artifact(self.combination.ids, path)
        if self._meter is not None:
            self._store_contribution(history, "training")
        return stored

    def _store_contribution(self, history: dict[str, Any], source: str,
                            replay_matches_model: bool | None = None) -> dict[str, Any]:
        assert self._meter is not None
        rounds = [{"round": report["round"], **report["contribution"]}
                  for report in history["rounds"] if "contribution" in report]
        participants = [node.participant_id for node in self.grid]
        details = build_record(rounds, participants, self._meter.metric, source)
        if replay_matches_model is not None:
            details["replay_matches_model"] = replay_matches_model
        return store_contribution(self.env, self.combination, details)

    def _replay_matches(self, state: dict[str, torch.Tensor]) -> bool:
        """Whether the replayed final weights equal the trained model's."""
        model = self.env.archive.table("Model").read(self.combination.key,
                                                     include_relations=False)
        if model is None:
            return False
        path = (model.get("global") or {}).get("path")
        if not path or not Path(path).is_file():
            return False
        stored = load_file(path)
        return set(stored) == set(state) and all(
            torch.equal(stored[name], state[name].to(stored[name].dtype)) for name in stored)


def _copied(state: State) -> State:
    """A snapshot of the strategy's server state (the next round may change it in place)."""
    return {name: tensor.detach().clone() for name, tensor in state.items()}
