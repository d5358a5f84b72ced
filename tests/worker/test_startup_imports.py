"""A Worker starts without scikit-learn: it is 1.7 s of start-up per Worker, and only text
folders and validation statistics need it (they import it on first use)."""

from __future__ import annotations

import subprocess
import sys


def test_the_worker_service_imports_without_scikit_learn() -> None:
    probe = ("import sys, synergos_worker.__main__, synalgo.metrics, "
             "synergos_worker.datasets.text; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'scipy')))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True, timeout=120).stdout.strip()
    assert loaded == "[]"


def test_statistics_still_use_scikit_learn_when_asked() -> None:
    from synalgo.metrics import compute_statistics

    statistics = compute_statistics("classify", [1, 0], [[0.2, 0.8], [0.9, 0.1]])
    assert statistics["accuracy_overall"] == 1.0 and statistics["roc_auc_score"] == [1.0, 1.0]
