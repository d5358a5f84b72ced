"""Check, while an image is built, that its environment still runs the role: every module a
role may load (its start path and the ones loaded on first use) imports, and torch steps an
optimizer. Run after docker/slim_venv.sh: `python docker/check_role.py worker|ttp`."""

from __future__ import annotations

import importlib
import sys

# Modules loaded on first use (DP, metrics, text columns, tracking, optimisation, the MLflow
# server of docker-compose.yml) and the HEALTHCHECK's, besides each role's start path.
MODULES = {
    "worker": ["synergos_worker.__main__", "syncommon.healthcheck", "synalgo.privacy.worker_dp",
               "synalgo.privacy.accounting", "synalgo.metrics", "sklearn.feature_extraction.text",
               "synergos_datasets.builder"],
    "ttp": ["synergos_ttp.__main__", "synergos_director.__main__", "syncommon.healthcheck",
            "synalgo.privacy.accounting", "synalgo.metrics", "synergos_ttp.optimization.study",
            "mlflow.tracking", "mlflow.store.tracking.sqlalchemy_store", "mlflow.server"],
}


def main(role: str) -> int:
    """Import the role's modules and take one torch optimizer step; 0 when all worked."""
    for module in MODULES[role]:
        importlib.import_module(module)
    from synalgo.warmup import warm_up_torch

    warm_up_torch()
    print(f"{role}: {len(MODULES[role])} modules import, torch steps")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
