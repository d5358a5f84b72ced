"""Files the Worker keeps under `<outputs>/<project_id>/`: the last successful poll
(`poll.json`: action, tags, headers per meta), the alignment sent by the TTP
(`alignment.json`) and, for algorithms whose client models stay on the Worker (FedGKT), each
run's client model (`<expt>/<run>/client_model.safetensors`, `synalgo.codec` format, never
unpickled). Writes are atomic (`syncommon.files`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from synalgo.codec import decode, encode
from synalgo.errors import CodecError
from syncommon.files import write_atomically

POLL_FILE = "poll.json"
ALIGNMENT_FILE = "alignment.json"
CLIENT_MODEL_FILE = "client_model.safetensors"


def write_json_atomic(path: Path, document: Any) -> None:
    """Replace `path` with `document` as JSON, atomically."""
    write_atomically(path, json.dumps(document, allow_nan=False, indent=1).encode("utf-8"))


def read_json(path: Path) -> Any | None:
    """The JSON document at `path`, or None when it is missing or unreadable."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None


class ProjectStore:
    """Reads and writes the Worker's per-project and per-run files under `outputs_dir`."""

    def __init__(self, outputs_dir: Path | str) -> None:
        self.outputs_dir = Path(outputs_dir)

    def project_dir(self, project_id: str) -> Path:
        """`<outputs>/<project_id>`."""
        return self.outputs_dir / project_id

    def run_dir(self, project_id: str, expt_id: str, run_id: str) -> Path:
        """`<outputs>/<project_id>/<expt_id>/<run_id>`: where predictions are written."""
        return self.outputs_dir / project_id / expt_id / run_id

    def save_poll(self, project_id: str, action: str, tags: dict[str, Any],
                  answer: dict[str, Any]) -> dict[str, Any]:
        """Remember a successful poll: its action, tags, and headers/image shape per meta."""
        record = {
            "action": action,
            "tags": tags,
            "metas": {meta: {"headers": summary["headers"],
                             "image_shape": summary.get("image_shape")}
                      for meta, summary in answer.items()},
        }
        write_json_atomic(self.project_dir(project_id) / POLL_FILE, record)
        return record

    def load_poll(self, project_id: str) -> dict[str, Any] | None:
        """The last successful poll of the project (see `save_poll`), or None."""
        record = read_json(self.project_dir(project_id) / POLL_FILE)
        return record if isinstance(record, dict) and "metas" in record else None

    def save_alignment(self, project_id: str, alignment: dict[str, Any]) -> None:
        """Store the validated alignment of the project."""
        write_json_atomic(self.project_dir(project_id) / ALIGNMENT_FILE, alignment)

    def load_alignment(self, project_id: str) -> dict[str, Any] | None:
        """The stored alignment of the project, or None when the TTP has not sent one."""
        alignment = read_json(self.project_dir(project_id) / ALIGNMENT_FILE)
        return alignment if isinstance(alignment, dict) and "superset" in alignment else None

    def save_client_state(self, key: tuple[str, str, str],
                          state: dict[str, torch.Tensor]) -> None:
        """Keep what a run's strategy keeps on the Worker across rounds (FedGKT's client
        model, SCAFFOLD's control variate, FedDyn's gradient estimate)."""
        write_atomically(self.run_dir(*key) / CLIENT_MODEL_FILE, encode(state, {}))

    def load_client_state(self, key: tuple[str, str, str]) -> dict[str, torch.Tensor] | None:
        """The run's stored client state, or None when there is none (or it is unreadable)."""
        try:
            blob = (self.run_dir(*key) / CLIENT_MODEL_FILE).read_bytes()
            return decode(blob)[0]
        except (FileNotFoundError, CodecError):
            return None
