"""`make demo` / `python -m examples.demo`: a whole federated cycle on this machine.

Builds the example datasets into `./demo_run/`, starts a TTP and two Workers on 127.0.0.1
(free ports, generated tokens, logs under `demo_run/logs/`), then runs the seeds' Driver
sequence on breast_cancer, whose two parties have different columns (party 2 lacks two
features): project -> experiment -> run -> participants -> registrations -> tags ->
alignment -> training -> validation -> prediction. The run keeps the seeds' choices
(FedProx, SGD, NLLLoss on one sigmoid unit, CyclicLR) with more rounds, mini-batches and
a larger learning rate so that the model learns, and participant 2 also declares evaluate
tags so that both participants get statistics.
It prints each participant's validation statistics and where the MLflow store and the
outputs are, and stops every process it started (also on Ctrl-C or an error).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

from synergos import Driver
from synergos_datasets.builder import build_examples
from synergos_testing.local_processes import LOOPBACK, Node, NodeProcesses, failure_exit

PROJECT, EXPERIMENT, RUN = "test_project", "test_experiment", "test_run"
PARTICIPANTS = ("test_participant_1", "test_participant_2")


def run_seeds_sequence(driver: Driver, workers: dict[str, Node]) -> dict[str, Any]:
    """The seeds' Driver example against the local grid; returns the validation records."""
    driver.projects.create(project_id=PROJECT, action="classify",
                           incentives={"tier_1": [], "tier_2": [], "tier_3": []})
    driver.experiments.create(project_id=PROJECT, expt_id=EXPERIMENT, model=[
        {"activation": "sigmoid", "is_input": True, "l_type": "Linear",
         "structure": {"bias": True, "in_features": 15, "out_features": 1}}])
    driver.runs.create(project_id=PROJECT, expt_id=EXPERIMENT, run_id=RUN, rounds=10,
                       epochs=2, batch_size=32, base_lr=0.05, max_lr=0.1,
                       criterion="NLLLoss")
    for participant_id, role in zip(PARTICIPANTS, ("guest", "host"), strict=True):
        node = workers[participant_id]
        driver.participants.create(participant_id=participant_id, host=LOOPBACK,
                                   port=node.data_port, f_port=node.port, token=node.token,
                                   log_msgs=True, verbose=True)
        driver.registrations.create(project_id=PROJECT, participant_id=participant_id,
                                    role=role)
    driver.tags.create(project_id=PROJECT, participant_id=PARTICIPANTS[0],
                       train=[["breast_cancer", "train"]],
                       evaluate=[["breast_cancer", "evaluate"]])
    driver.tags.create(project_id=PROJECT, participant_id=PARTICIPANTS[1],
                       train=[["breast_cancer", "train"]],
                       evaluate=[["breast_cancer", "evaluate"]])
    step("aligning the participants' features (MFA)")
    driver.alignments.create(project_id=PROJECT, timeout=600)
    step("training across the grid")
    model = driver.models.create(project_id=PROJECT, expt_id=EXPERIMENT, run_id=RUN,
                                 timeout=1800)["data"][0]
    losses = model["global"]["loss_history"]["train"]
    print(f"   global train loss: round 1 {losses['1']:.4f} -> round {len(losses)} "
          f"{losses[str(len(losses))]:.4f}")
    step("validating on each participant's evaluate data")
    validations = driver.validations.create(project_id=PROJECT, expt_id=EXPERIMENT,
                                            run_id=RUN, timeout=600)["data"]
    step("predicting on participant 1's data")
    driver.predictions.create(tags={PROJECT: [["breast_cancer", "predict"]]},
                              participant_id=PARTICIPANTS[0], project_id=PROJECT,
                              expt_id=EXPERIMENT, run_id=RUN, timeout=600)
    return validations


def statistics_table(validations: list[dict[str, Any]]) -> str:
    """A small text table of each participant's validation statistics."""
    header = f"{'participant':<22}{'rows':>6}{'accuracy':>10}{'ROC-AUC':>9}{'F1':>7}{'loss':>8}"
    lines = [header, "-" * len(header)]
    for record in validations:
        entry = record["evaluate"]
        stats = entry["statistics"]
        lines.append(
            f"{record['key']['participant_id']:<22}{entry.get('n_samples', 0):>6}"
            f"{stats['accuracy_overall']:>10.3f}{stats['roc_auc_score'][-1]:>9.3f}"
            f"{stats['f_score'][-1]:>7.3f}{entry.get('loss', float('nan')):>8.4f}")
    return "\n".join(lines)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def step(message: str) -> None:
    """Print one progress line."""
    print(f"-> {message}", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the demo; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m examples.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("demo_run"),
                        help="folder for datasets, node folders and logs (default ./demo_run; "
                             "emptied first)")
    args = parser.parse_args(argv)
    workdir = args.workdir.resolve()
    shutil.rmtree(workdir, ignore_errors=True)
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    step(f"building the example datasets in {workdir / 'datasets'}")
    build_examples(workdir / "datasets", parties=2, names=["breast_cancer"])
    with NodeProcesses(workdir / "logs") as processes:
        try:
            step("starting a TTP and two Workers on 127.0.0.1")
            workers = {pid: processes.start_worker(
                pid, workdir / "datasets" / f"party_{number}", workdir / pid / "outputs")
                for number, pid in enumerate(PARTICIPANTS, start=1)}
            ttp = processes.start_ttp("ttp", workdir / "ttp" / "data",
                                      workdir / "ttp" / "outputs")
            processes.wait_healthy()
            with Driver(host=LOOPBACK, port=ttp.port, token=ttp.token) as driver:
                validations = run_seeds_sequence(driver, workers)
        except (KeyboardInterrupt, Exception) as error:
            return failure_exit(processes, error, "demo")
    print("\nValidation statistics (computed on each Worker from its own labels):")
    print(statistics_table(validations))
    outputs = workdir / "ttp" / "outputs"
    print(f"\nMLflow store: sqlite:///{outputs / 'mlflow.db'}  (mlflow ui --backend-store-uri "
          f"sqlite:///{outputs / 'mlflow.db'})")
    print(f"TTP outputs (checkpoints, final weights): {outputs / PROJECT}")
    print(f"Worker outputs (predictions): {workdir}/<participant>/outputs; logs: "
          f"{workdir / 'logs'}")
    print(f"done in {time.monotonic() - started:.0f} s; every process stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
