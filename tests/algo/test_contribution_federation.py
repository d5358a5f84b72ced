"""Exact and GTG-Shapley on the same real federated rounds (in-process FedAvg on
breast_cancer, 8 participants of different sizes and label noise)."""

from __future__ import annotations

import torch
from scipy.stats import spearmanr
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from synalgo.contribution import GTGSettings, assign_tiers, exact_shapley, gtg_shapley
from synalgo.contribution.shapley import Coalition
from synalgo.model_spec import build_model
from synalgo.strategies import get_strategy

SPEC = [{"is_input": True, "l_type": "Linear",
         "structure": {"in_features": 30, "out_features": 1, "bias": True},
         "activation": "sigmoid"}]
RUN = {"algorithm": "FedAvg", "rounds": 3, "epochs": 1, "lr": 0.05, "lr_scheduler": None,
       "batch_size": 16, "criterion": "BCELoss", "seed": 5}
# rows of training data and share of flipped labels per participant
PARTIES = {"p0": (120, 0.0), "p1": (90, 0.0), "p2": (60, 0.1), "p3": (40, 0.0),
           "p4": (25, 0.2), "p5": (15, 0.0), "p6": (40, 1.0), "p7": (8, 0.5)}


def _data() -> tuple[dict[str, tuple[torch.Tensor, torch.Tensor]], torch.Tensor, torch.Tensor]:
    features, labels = load_breast_cancer(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(features, labels, test_size=0.3,
                                                        random_state=0, stratify=labels)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    as_x = lambda a: torch.tensor((a - mean) / std, dtype=torch.float32)  # noqa: E731
    x_all, y_all = as_x(x_train), torch.tensor(y_train)
    generator = torch.Generator().manual_seed(1)
    order = torch.randperm(len(x_all), generator=generator)
    parties, start = {}, 0
    for pid, (rows, flipped) in PARTIES.items():
        index = order[start:start + rows]
        start += rows
        y = y_all[index].clone()
        flip = torch.rand(rows, generator=generator) < flipped
        y[flip] = 1 - y[flip]
        parties[pid] = (x_all[index], y)
    return parties, as_x(x_test), torch.tensor(y_test)


def test_gtg_ranks_like_exact_on_real_rounds() -> None:
    parties, x_test, y_test = _data()
    strategy = get_strategy(RUN, spec=SPEC, n_classes=2)
    state = strategy.initial_global_state()
    model = build_model(SPEC)
    exact_rounds, gtg_rounds = [], []
    for round_index in range(RUN["rounds"]):
        updates = {}
        for pid, (x, y) in parties.items():
            config = strategy.configure_fit(state, round_index, pid)
            local = strategy.build_client_model(SPEC, x, 2)
            result = strategy.fit_locally(local, x, y, "classify", 2, global_state=state,
                                          config=config)
            updates[pid] = (result.payload, result.n_samples)

        def coalition_state(coalition: Coalition, base=state, updates=updates):
            if not coalition:
                return base
            return strategy.aggregate(base, [updates[p] for p in sorted(coalition)])

        def evaluate(coalitions: list[Coalition], coalition_state=coalition_state) -> list[float]:
            values = []
            for coalition in coalitions:
                model.load_state_dict(coalition_state(coalition))
                with torch.no_grad():
                    predicted = (model(x_test).reshape(-1) > 0.5).long()
                values.append(float((predicted == y_test).float().mean()))
            return values

        empty = evaluate([frozenset()])[0]
        exact = exact_shapley(sorted(parties), evaluate, empty)
        estimate = gtg_shapley(sorted(parties), evaluate, empty,
                               GTGSettings(seed=round_index))
        assert abs(sum(exact.values.values()) - (exact.utility_full - empty)) < 1e-6
        exact_rounds.append(exact.values)
        gtg_rounds.append(estimate.values)
        state = strategy.aggregate(state, list(updates.values()))
    exact_totals = assign_tiers(exact_rounds, parties).totals
    gtg_totals = assign_tiers(gtg_rounds, parties).totals
    keys = sorted(parties)
    rho = spearmanr([exact_totals[k] for k in keys], [gtg_totals[k] for k in keys]).statistic
    assert rho >= 0.9, (exact_totals, gtg_totals)
    assert exact_totals["p6"] < 0  # every label flipped: harmful
