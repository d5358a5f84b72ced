"""Round checkpoints and final weights as safetensors files (never pickle).

A checkpoint `<run_dir>/checkpoints/round_<k>.safetensors` holds the global state after round
k (`global.<entry>`), the strategy's server state (`server.<entry>`, e.g. FedOpt moments) and
a JSON document in the metadata (the round and early-stopping state; the losses and round
reports are in `history.py`'s file) so a resumed job continues at round k + 1 exactly where
it stopped. Files are written atomically (`syncommon.files`), so a crash never leaves a
half-written checkpoint.
Only the last `CHECKPOINTS_KEPT` rounds are kept (a 25 M-parameter model is 100 MB a round).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file

from synalgo.errors import CodecError
from synalgo.safetensors_format import write_safetensors
from synalgo.state import State
from syncommon.files import atomic_file
from synergos_ttp.engine.errors import EngineError

_GLOBAL = "global."
_SERVER = "server."
_DOCUMENT_KEY = "checkpoint"
FINAL_WEIGHTS = "global_model.safetensors"
CHECKPOINTS_KEPT = 2  # the one the job record points at, and the one before it


def checkpoint_path(run_dir: Path, round_number: int) -> Path:
    """Where the checkpoint after round `round_number` (1-based) lives."""
    return run_dir / "checkpoints" / f"round_{round_number}.safetensors"


def drop_old_checkpoints(run_dir: Path, latest_round: int,
                         keep: int = CHECKPOINTS_KEPT) -> None:
    """Delete the checkpoint `keep` rounds before `latest_round` (call once the job record
    points at the latest), so a run's folder holds `keep` checkpoints however long it runs."""
    old = latest_round - keep
    if old >= 1:
        checkpoint_path(run_dir, old).unlink(missing_ok=True)


def save_checkpoint(path: Path, global_state: State, server_state: State,
                    document: dict[str, Any]) -> Path:
    """Write one checkpoint atomically; returns `path`."""
    tensors = {_GLOBAL + name: tensor for name, tensor in global_state.items()}
    tensors.update({_SERVER + name: tensor for name, tensor in server_state.items()})
    _atomic_save(path, tensors, {_DOCUMENT_KEY: json.dumps(document, allow_nan=False)})
    return path


def load_checkpoint(path: Path) -> tuple[State, State, dict[str, Any]]:
    """`(global_state, server_state, document)` of a checkpoint written by `save_checkpoint`."""
    tensors, metadata = _load(path)
    try:
        document = json.loads(metadata.get(_DOCUMENT_KEY, ""))
    except ValueError:
        raise EngineError(f"checkpoint {path} has no readable round document") from None
    global_state = {name[len(_GLOBAL):]: t for name, t in tensors.items()
                    if name.startswith(_GLOBAL)}
    server_state = {name[len(_SERVER):]: t for name, t in tensors.items()
                    if name.startswith(_SERVER)}
    if not global_state or not isinstance(document, dict):
        raise EngineError(f"checkpoint {path} holds no global weights")
    return global_state, server_state, document


def save_weights(path: Path, state: State, metadata: dict[str, str] | None = None) -> Path:
    """Write a state dict (e.g. the final global model) atomically; returns `path`."""
    _atomic_save(path, dict(state), metadata or {})
    return path


def load_weights(path: Path) -> State:
    """Read a state dict written by `save_weights`; raises `EngineError` when unusable."""
    return _load(path)[0]


def _atomic_save(path: Path, tensors: State, metadata: dict[str, str]) -> None:
    try:
        with atomic_file(path) as handle:
            write_safetensors(handle, tensors, metadata)
    except CodecError as error:
        raise EngineError(f"cannot save {path.name}: {error}") from None


def _load(path: Path) -> tuple[State, dict[str, str]]:
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = dict(handle.metadata() or {})
        return load_file(str(path)), metadata
    except (OSError, SafetensorError) as error:
        raise EngineError(f"cannot read {path}: {error}") from None
