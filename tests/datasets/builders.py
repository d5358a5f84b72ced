"""Builders of small dataset folders (metadata.json, schema.json, CSVs, images) for tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image


def write_tabular(folder: Path, csv_text: str, schema: dict[str, str], name: str = "data.csv",
                  options: dict | None = None) -> Path:
    """A tabular dataset folder with one CSV; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    metadata = {"datatype": "tabular", **({"options": options} if options else {})}
    (folder / "metadata.json").write_text(json.dumps(metadata))
    (folder / "schema.json").write_text(json.dumps(schema))
    (folder / name).write_text(csv_text)
    return folder


def write_images(folder: Path, images: dict[str, np.ndarray], targets: dict[str, str],
                 color: str = "L") -> Path:
    """An image dataset folder: PNG files (uint8 arrays) and mapping.csv; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metadata.json").write_text(
        json.dumps({"datatype": "image", "options": {"color": color}}))
    lines = ["image,target"]
    for name, pixels in images.items():
        Image.fromarray(pixels).save(folder / name)
        lines.append(f"{name},{targets[name]}")
    (folder / "mapping.csv").write_text("\n".join(lines) + "\n")
    return folder


def write_text(folder: Path, rows: list[tuple[str, str]], options: dict | None = None,
               name: str = "corpus.csv") -> Path:
    """A text dataset folder with one two-column CSV (text, label); returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    metadata = {"datatype": "text", **({"options": options} if options else {})}
    (folder / "metadata.json").write_text(json.dumps(metadata))
    lines = ["review,label"] + [f'"{text}",{label}' for text, label in rows]
    (folder / name).write_text("\n".join(lines) + "\n")
    return folder
