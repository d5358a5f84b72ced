"""New sqlite MLflow stores are copies of a migrated template, not migrated in place.

MLflow builds a new sqlite store by running every one of its alembic migrations: seconds of
CPU and hundreds of commits, on the GIL of a TTP or Director that has just started, which
slows the first rounds of a training (`docs/benchmarks.md`). The template is built once per
machine and MLflow version, by MLflow itself, in the user's cache folder
(`SYNERGOS_CACHE_DIR`, else `$XDG_CACHE_HOME/synergos`, else `~/.cache/synergos`); a new
store is a byte copy of it whose Default experiment then points at the new store's own
artifact folder. Where the cache cannot be written, MLflow creates the store as before.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from syncommon.files import held_lock

logger = logging.getLogger(__name__)
DEFAULT_EXPERIMENT_ID = 0


def cache_dir() -> Path:
    """The folder holding the templates."""
    explicit = os.environ.get("SYNERGOS_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "synergos"


def template_path() -> Path:
    """The template of this MLflow version (a new version may add migrations)."""
    import mlflow  # heavy import: only when tracking

    return cache_dir() / f"mlflow-{mlflow.__version__}-store.db"


def seed_store(database: Path, artifact_root: Path | None) -> bool:
    """Create the missing sqlite store `database` as a copy of the template; True when it
    did. Call it under `store_creation_lock`, so no other process is creating it too."""
    if database.exists() or database.name in ("", ":memory:") or "?" in str(database):
        return False  # there, or not a plain file path (in-memory, URI query options)
    template = ensure_template()
    if template is None:
        return False
    database.parent.mkdir(parents=True, exist_ok=True)
    partial = database.with_name(f"{database.name}.seeding")
    shutil.copyfile(template, partial)
    if artifact_root is not None:
        _point_default_experiment(partial, artifact_root)
    os.replace(partial, database)
    return True


def ensure_template() -> Path | None:
    """The template, built (once, under a lock) when missing; None where the cache folder
    cannot be written."""
    try:
        path = template_path()
        if path.exists():
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        with held_lock(f"{path}.lock"):
            if not path.exists():
                _build_template(path)
        return path
    except OSError as error:
        logger.warning("no MLflow store template (%s): MLflow creates the store itself", error)
        return None


def _build_template(path: Path) -> None:
    from mlflow.tracking import MlflowClient  # heavy import: only when tracking

    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".template-") as scratch:
        database = Path(scratch) / "store.db"
        MlflowClient(tracking_uri=f"sqlite:///{database}").search_experiments(max_results=1)
        os.replace(database, path)


def _point_default_experiment(database: Path, artifact_root: Path) -> None:
    """Give the copied Default experiment this store's artifact folder and today's times."""
    now = int(time.time() * 1000)
    location = (artifact_root / str(DEFAULT_EXPERIMENT_ID)).resolve().as_uri()
    connection = sqlite3.connect(database)
    try:
        with connection:
            connection.execute(
                "UPDATE experiments SET artifact_location = ?, creation_time = ?, "
                "last_update_time = ? WHERE experiment_id = ?",
                (location, now, now, DEFAULT_EXPERIMENT_ID))
    finally:
        connection.close()
