"""Runs: one set of training hyperparameters for an experiment (`.../experiments/<e>/runs`)."""

from __future__ import annotations

from typing import Any

from synergos.http import Envelope
from synergos.resources.base import (
    CONNECT,
    SERVER_DEFAULT,
    Resource,
    ServerDefault,
    given,
    path_segment,
)


class Runs(Resource):
    """Create, list, read, update and delete runs (`driver.runs`)."""

    @staticmethod
    def _collection(project_id: str, expt_id: str) -> str:
        project = path_segment("project_id", project_id)
        expt = path_segment("expt_id", expt_id)
        return f"{CONNECT}/projects/{project}/experiments/{expt}/runs"

    def _item(self, project_id: str, expt_id: str, run_id: str) -> str:
        return f"{self._collection(project_id, expt_id)}/{path_segment('run_id', run_id)}"

    def create(
        self,
        project_id: str,
        expt_id: str,
        run_id: str,
        rounds: int | None = None,
        epochs: int | None = None,
        lr: float | None = None,
        batch_size: int | None = None,
        algorithm: str | None = None,
        optimizer: str | None = None,
        criterion: str | None = None,
        lr_scheduler: str | ServerDefault | None = SERVER_DEFAULT,
        **hyperparameters: Any,
    ) -> Envelope:
        """Create (or overwrite) a run: `POST /ttp/connect/projects/<p>/experiments/<e>/runs`.

        Only the arguments you give are sent; the server fills in the rest with the defaults
        shown in brackets below.

        Args:
            project_id: the project.
            expt_id: the experiment whose model this run trains.
            run_id: id of the new run.
            rounds: global federated rounds (default 10).
            epochs: local epochs per round on each worker (default 100).
            lr: learning rate (default 0.001).
            batch_size: local batch size (default None = full batch).
            algorithm: `"FedProx"` (default), `"FedAvg"`, `"FedGKT"`, `"FedAdam"`, `"FedYogi"`,
                `"FedAdagrad"`, `"FedAvgM"`, ...
            optimizer: a `torch.optim` class name (default `"SGD"`).
            criterion: a `torch.nn` loss class name (default `"BCELoss"`).
            lr_scheduler: a `torch.optim.lr_scheduler` class name, or None for no scheduler
                (left out: the server's default `"CyclicLR"`, whose `base_lr` and `max_lr`
                it fills in when they are not given).
            **hyperparameters: any other run field, sent as given: the algorithm's own fields
                (e.g. FedProx's `mu`; each algorithm's in docs/algorithms.md),
                `weight_decay` (0.0), `lr_decay` (0.1), `l1_lambda` (0.0), `l2_lambda`
                (0.0), `patience` (10), `delta` (0.0), `seed` (42), `update_clip` (`"auto"`:
                an update over `clip_factor` (5) times the round's median update norm is
                scaled down to the median norm; a number: a fixed L2 bound; None: off), `dp`
                (differential privacy, e.g. `{"mode": "worker", "target_epsilon": 3.0}`: DP-SGD
                on every Worker, ε reported per round, training stopped before the target is
                passed; see docs/algorithms.md), `secure_aggregation` (True: the TTP learns
                only the sum of the Workers' updates; with `secagg_clip` (8.0),
                `secagg_bits` (22), `secagg_threshold` (None = max(2, ceil(2N/3)))), and
                constructor arguments of the
                optimizer/criterion/scheduler such as `base_lr`, `max_lr`, `momentum`,
                `step_size`, `gamma`.

        Returns:
            The response envelope; `data` is the run record.

        Example:
            driver.runs.create(project_id="test_project", expt_id="test_experiment",
                               run_id="test_run", rounds=2, epochs=1, base_lr=0.0005,
                               max_lr=0.005, criterion="NLLLoss")
        """
        path_segment("run_id", run_id)
        body = {
            "project_id": project_id,
            "expt_id": expt_id,
            "run_id": run_id,
            **given(rounds=rounds, epochs=epochs, lr=lr, batch_size=batch_size,
                    algorithm=algorithm, optimizer=optimizer, criterion=criterion),
            **({} if lr_scheduler is SERVER_DEFAULT else {"lr_scheduler": lr_scheduler}),
            **hyperparameters,
        }
        return self._transport.post(self._collection(project_id, expt_id), body)

    def read_all(self, project_id: str, expt_id: str) -> Envelope:
        """List the runs of an experiment: `GET .../projects/<p>/experiments/<e>/runs`.

        Returns:
            The response envelope; `data` is a list of run records.

        Example:
            driver.runs.read_all(project_id="test_project", expt_id="test_experiment")
        """
        return self._transport.get(self._collection(project_id, expt_id))

    def read(self, project_id: str, expt_id: str, run_id: str) -> Envelope:
        """Read one run: `GET .../experiments/<e>/runs/<r>`.

        Example:
            driver.runs.read("test_project", "test_experiment", "test_run")["data"]["rounds"]
        """
        return self._transport.get(self._item(project_id, expt_id, run_id))

    def update(self, project_id: str, expt_id: str, run_id: str, **changes: Any) -> Envelope:
        """Change hyperparameters of a run: `PUT .../runs/<r>`.

        Example:
            driver.runs.update("test_project", "test_experiment", "test_run", rounds=5)
        """
        return self._transport.put(
            self._item(project_id, expt_id, run_id), self._changes(changes)
        )

    def delete(self, project_id: str, expt_id: str, run_id: str) -> Envelope:
        """Delete a run and its models/validations: `DELETE .../runs/<r>`.

        Returns:
            The response envelope; `data` is the record as it was before deletion.

        Example:
            driver.runs.delete("test_project", "test_experiment", "test_run")
        """
        return self._transport.delete(self._item(project_id, expt_id, run_id))
