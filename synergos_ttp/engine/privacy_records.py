"""What the TTP records of Worker-side DP: each Worker's ε per round (from its fit reply),
the round's maximum, the Model record's privacy summary, and the privacy-budget stop."""

from __future__ import annotations

import math
from typing import Any

from synergos_ttp.engine.reply_checks import ReplyRejected

BUDGET_STOP = "privacy budget"


def worker_dp(run: dict[str, Any]) -> dict[str, Any] | None:
    """The run's `dp` object when it asks for Worker-side DP-SGD, else None."""
    dp = run.get("dp")
    return dp if isinstance(dp, dict) and dp.get("mode") == "worker" else None


def _epsilon_value(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and not math.isnan(value) and value >= 0)


def reply_privacy(participant_id: str, header: dict[str, Any]) -> dict[str, float]:
    """`{epsilon, epsilon_next_round}` from a DP fit reply; `ReplyRejected` when missing or
    malformed (a Worker of a DP run must say what it spent)."""
    privacy = header.get("privacy")
    if not isinstance(privacy, dict) or not all(
            _epsilon_value(privacy.get(name)) for name in ("epsilon", "epsilon_next_round")):
        raise ReplyRejected(participant_id, "a DP run's reply must report privacy.epsilon and "
                                            "privacy.epsilon_next_round (numbers >= 0)")
    return {"epsilon": float(privacy["epsilon"]),
            "epsilon_next_round": float(privacy["epsilon_next_round"])}


def round_privacy(participants: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """`{epsilon: {participant: ε}, max_epsilon}` of one round's accepted replies."""
    spent = {pid: report["epsilon"] for pid, report in participants.items()
             if report.get("status") == "ok" and "epsilon" in report}
    if not spent:
        return None
    return {"epsilon": spent, "max_epsilon": max(spent.values())}


def budget_stop(run: dict[str, Any], participants: dict[str, dict[str, Any]]) -> str | None:
    """`BUDGET_STOP` when another round would take some Worker past `target_epsilon`."""
    dp = worker_dp(run)
    target = dp.get("target_epsilon") if dp else None
    if target is None:
        return None
    ahead = [report["epsilon_next_round"] for report in participants.values()
             if report.get("status") == "ok" and "epsilon_next_round" in report]
    return BUDGET_STOP if any(value > target for value in ahead) else None


def model_privacy(run: dict[str, Any], rounds: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The Model record's `privacy`: mode, parameters, ε per Worker per round and the max."""
    dp = run.get("dp")
    if not isinstance(dp, dict):
        return None
    per_worker: dict[str, dict[str, float]] = {}
    for report in rounds:
        for pid, value in ((report.get("privacy") or {}).get("epsilon") or {}).items():
            per_worker.setdefault(pid, {})[str(report["round"])] = value
    spent = [value for values in per_worker.values() for value in values.values()]
    return {"mode": dp["mode"], "parameters": {k: v for k, v in dp.items() if k != "mode"},
            "epsilon": per_worker, "max_epsilon": max(spent) if spent else None}


def privacy_metrics(report: dict[str, Any]) -> dict[str, float]:
    """MLflow metrics of one round's privacy: `<participant>_epsilon` and `max_epsilon`."""
    privacy = report.get("privacy")
    if not privacy:
        return {}
    metrics = {f"{pid}_epsilon": value for pid, value in privacy["epsilon"].items()}
    metrics["max_epsilon"] = privacy["max_epsilon"]
    return {name: float(value) for name, value in metrics.items() if math.isfinite(value)}
