"""The pure parts of `bench/round_phases.py`: case names, the Workers' fit totals, the table."""

from __future__ import annotations

import json
from pathlib import Path

from bench.round_phases import _fit_totals, case_names, phases_table


def test_case_names_default_to_no_compression() -> None:
    assert case_names(["logreg", "mlp10m:int8"]) == [("logreg", "none"), ("mlp10m", "int8")]


def test_fit_totals_come_from_the_last_run_terminated_line(tmp_path: Path) -> None:
    log = tmp_path / "w0.log"
    lines = [json.dumps({"message": "run terminated", "fits": 3, "fit_seconds": 0.3}),
             "not json: run terminated", json.dumps({"message": "started"}),
             json.dumps({"message": "run terminated", "fits": 20, "fit_seconds": 1.5})]
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert _fit_totals(log) == (1.5, 20)
    log.write_text(json.dumps({"message": "run terminated", "fits": 0}) + "\n",
                   encoding="utf-8")
    assert _fit_totals(log) is None


def test_the_table_has_one_row_per_case_in_milliseconds() -> None:
    row = {"model": "logreg", "mode": "none", "clients": 4, "round_s": 0.05,
           "exchange_s": 0.049, "between_s": 0.001, "first_reply_s": 0.02,
           "last_reply_s": 0.048, "worker_fit_s": 0.0025, "ttp_cpu_s": 0.004,
           "worker_cpu_s": 0.006, "test_accuracy": 0.97}
    lines = phases_table([row]).splitlines()
    assert len(lines) == 3
    assert lines[2].startswith("| logreg (31) | none | 4 | 50.0 | 49.0 | 1.0 | 20.0 | 48.0 | 2.5 |")
