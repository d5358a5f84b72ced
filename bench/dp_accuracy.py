"""Accuracy against ε for Worker-side DP-SGD on breast_cancer and digits.

Run from the repository root: `.venv/bin/python -m bench.dp_accuracy [--rounds 10]`.

In process, the code a Worker and the TTP run: two Workers on an IID split (80 % train,
standardised with the training rows' statistics), FedAvg over `rounds` rounds of one local
epoch (batch 32, SGD lr 0.5), each Worker training with `synalgo.privacy.worker_dp`
(`target_epsilon`, max_grad_norm 1, δ 1e-5) or without DP (ε = ∞). Prints a Markdown table:
the target, the noise multiplier the Workers derived from it, the largest ε spent, the test
accuracy of the final global model, and the wall time of the training.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.model_selection import train_test_split

from synalgo.local_training import train_locally
from synalgo.model_spec import build_model
from synalgo.privacy.worker_dp import WorkerPrivacy
from synalgo.run_config import normalise_run
from synalgo.strategies import get_strategy

TASKS = {
    "breast_cancer": (load_breast_cancer, "BCEWithLogitsLoss", 1),
    "digits": (load_digits, "CrossEntropyLoss", 10),
}
EPSILONS = (1.0, 3.0, 8.0, math.inf)


def split(name: str, seed: int = 7) -> tuple[list[tuple[torch.Tensor, torch.Tensor]],
                                             torch.Tensor, torch.Tensor]:
    """Two Workers' training tensors and the test tensors."""
    loader = TASKS[name][0]
    features, labels = loader(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        features, labels, test_size=0.2, random_state=seed, stratify=labels)
    mean, std = x_train.mean(0), x_train.std(0) + 1e-8
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    halves = np.array_split(np.random.default_rng(seed).permutation(len(x_train)), 2)
    workers = [(torch.tensor(x_train[i], dtype=torch.float32), torch.tensor(y_train[i]))
               for i in halves]
    return workers, torch.tensor(x_test, dtype=torch.float32), torch.tensor(y_test)


def train(name: str, target: float, rounds: int) -> tuple[float, float, float, float]:
    """`(noise multiplier, max ε spent, test accuracy, seconds)` of one federated training."""
    _, criterion, outputs = TASKS[name]
    workers, x_test, y_test = split(name)
    spec = [{"activation": None, "is_input": True, "l_type": "Linear",
             "structure": {"in_features": x_test.shape[1], "out_features": outputs}}]
    dp = None if math.isinf(target) else {"mode": "worker", "target_epsilon": target}
    run, errors = normalise_run({"algorithm": "FedAvg", "rounds": rounds, "epochs": 1,
                                 "batch_size": 32, "lr": 0.5, "lr_scheduler": None,
                                 "criterion": criterion, "patience": 1000, "dp": dp})
    assert not errors, errors
    n_classes = max(2, outputs)
    strategy = get_strategy(run, spec=spec, n_classes=n_classes)
    state = strategy.initial_global_state()
    models = [build_model(spec, seed=1) for _ in workers]
    privacy = [WorkerPrivacy(run["dp"], run, len(x)) if dp else None for x, _ in workers]
    started = time.perf_counter()
    for round_index in range(rounds):
        aggregator = strategy.start_round(state)
        for model, engine, (x, y) in zip(models, privacy, workers, strict=True):
            if engine is None:
                result = train_locally(model, x, y, run, "classify", n_classes,
                                       global_state=state, seed=round_index)
            else:
                result = engine.fit(model, x, y, "classify", n_classes, state)
            aggregator.add(result.state, result.n_samples)
        state = strategy.finish_round(state, aggregator)
    seconds = time.perf_counter() - started
    final = build_model(spec)
    final.load_state_dict(state)
    with torch.no_grad():
        scores = final(x_test)
    predicted = (scores.reshape(-1) > 0).long() if outputs == 1 else scores.argmax(1)
    accuracy = float((predicted == y_test).float().mean())
    spent = max((engine.epsilon() for engine in privacy if engine), default=math.inf)
    noise = max((engine.noise_multiplier for engine in privacy if engine), default=0.0)
    return noise, spent, accuracy, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print("| dataset | target ε | noise multiplier | ε spent (max) | accuracy | seconds |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in TASKS:
        for target in EPSILONS:
            noise, spent, accuracy, seconds = train(name, target, args.rounds)
            print(f"| {name} | {target:g} | {noise:.3f} | {spent:.3f} | {accuracy:.3f} | "
                  f"{seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main()
