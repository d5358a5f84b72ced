"""FedAvg, FedProx, SCAFFOLD and FedDyn on label-skewed splits.

Run from the repository root: `.venv/bin/python -m bench.strategies_skew [--seeds 3]`.

In process, the code the Workers and the TTP run (`synalgo.strategies`: `fit_tensors`,
`fit_locally` with the client state a Worker keeps, `start_round`/`finish_round`), through the
wire codec. Tasks (`synergos_datasets.partition.partition_label_skew`): `wine` as the
example datasets split it (2 parties, each class gives 70 % of its training rows to one
party; 5 rounds of 2 epochs) and `digits` over 10 parties that each hold one class (10 rounds
of 2 epochs); 80/20 stratified split, standardised with the training rows' statistics; a
64-unit MLP, SGD without a scheduler, batch 16. Prints a Markdown table: the test accuracy of
the final global model (mean ± std over seeds) per algorithm and task, and its time per round.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import numpy as np
import torch
from sklearn.datasets import load_digits, load_wine
from sklearn.model_selection import train_test_split

from synalgo.codec import decode, encode
from synalgo.model_spec import build_model
from synalgo.strategies import get_strategy
from synergos_datasets.partition import partition_label_skew

TASKS: dict[str, dict[str, Any]] = {
    "wine": {"load": load_wine, "parties": 2, "share": 0.7, "rounds": 5, "epochs": 2},
    "digits": {"load": load_digits, "parties": 10, "share": 1.0, "rounds": 10, "epochs": 2},
}
ALGORITHMS: dict[str, dict[str, Any]] = {
    "FedAvg": {},
    "FedProx": {"mu": 0.1},
    "SCAFFOLD": {},
    "FedDyn": {"feddyn_alpha": 0.01},
}
COMMON = {"optimizer": "SGD", "lr": 0.05, "lr_scheduler": None, "batch_size": 16,
          "criterion": "CrossEntropyLoss", "patience": 1000}


def spec(n_features: int, n_classes: int) -> list[dict[str, Any]]:
    """A 64-unit MLP with class logits."""
    return [{"is_input": True, "l_type": "Linear", "activation": "relu",
             "structure": {"in_features": n_features, "out_features": 64}},
            {"is_input": False, "l_type": "Linear",
             "structure": {"in_features": 64, "out_features": n_classes}}]


def split(task: dict[str, Any], seed: int) -> tuple[list[tuple[torch.Tensor, torch.Tensor]],
                                                    torch.Tensor, torch.Tensor]:
    """The parties' training tensors (label-skewed) and the test tensors."""
    features, labels = task["load"](return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        features, labels, test_size=0.2, stratify=labels, random_state=seed)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    std[std == 0] = 1.0
    as_x = lambda a: torch.tensor((a - mean) / std, dtype=torch.float32)  # noqa: E731
    parts = partition_label_skew(y_train, task["parties"], seed, task["share"])
    parties = [(as_x(x_train[rows]), torch.tensor(y_train[rows])) for rows in parts]
    return parties, as_x(x_test), torch.tensor(y_test)


def simulate(algorithm: str, task: dict[str, Any], seed: int) -> tuple[float, float]:
    """`(test accuracy, seconds per round)` of one federated training."""
    parties, x_test, y_test = split(task, seed)
    n_classes = int(y_test.max()) + 1
    model_spec = spec(x_test.shape[1], n_classes)
    run = {**COMMON, **ALGORITHMS[algorithm], "algorithm": algorithm, "seed": seed,
           "rounds": task["rounds"], "epochs": task["epochs"]}
    strategy = get_strategy(run, spec=model_spec, n_classes=n_classes)
    global_state = strategy.initial_global_state()
    client_states: list[dict[str, torch.Tensor] | None] = [None] * len(parties)
    started = time.perf_counter()
    for round_index in range(task["rounds"]):
        aggregator = strategy.start_round(global_state)
        for index, (x, y) in enumerate(parties):
            pid = f"p{index}"
            sent = {**global_state, **strategy.fit_tensors(pid)}
            received, _ = decode(encode(sent, {}))
            weights, extras = strategy.split_fit_tensors(received)
            model = strategy.build_client_model(model_spec, x, n_classes)
            result = strategy.fit_locally(
                model, x, y, "classify", n_classes, global_state=weights,
                config=strategy.configure_fit(global_state, round_index, pid), tensors=extras,
                client_state=client_states[index])
            client_states[index] = result.client_state
            payload, _ = decode(encode(result.payload or {}, {}))
            aggregator.add(payload, result.n_samples, participant_id=pid)
        global_state = strategy.finish_round(global_state, aggregator)
    seconds = (time.perf_counter() - started) / task["rounds"]
    final = build_model(model_spec)
    final.load_state_dict(global_state)
    with torch.no_grad():
        predicted = final(x_test).argmax(1)
    return float((predicted == y_test).float().mean()), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("| task | algorithm | test accuracy (mean ± std) | s / round |")
    print("|---|---|---|---|")
    for task_name, task in TASKS.items():
        for algorithm in ALGORITHMS:
            runs = [simulate(algorithm, task, seed) for seed in range(args.seeds)]
            accuracies = [accuracy for accuracy, _ in runs]
            spread = statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0
            print(f"| {task_name} ({task['parties']} parties, {task['share']:.0%} per class) "
                  f"| {algorithm} | {np.mean(accuracies):.3f} ± {spread:.3f} "
                  f"| {np.mean([s for _, s in runs]):.3f} |", flush=True)


if __name__ == "__main__":
    main()
