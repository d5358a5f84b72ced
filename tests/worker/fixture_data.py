"""Small dataset folders the Worker tests serve (written with the datasets test builders)."""

from __future__ import annotations

import json
import string
from pathlib import Path

import numpy as np

from tests.datasets.builders import write_images, write_tabular, write_text

CLASSIFY_SCHEMA = {"age": "float64", "colour": "category", "target": "int32"}
WIDE_SCHEMA = {"age": "float64", "height": "float64", "colour": "category", "target": "int32"}
REGRESS_SCHEMA = {"x1": "float64", "x2": "float64", "target": "float64"}
SLOW_DOCUMENTS = 40_000  # a text corpus whose bag of words takes about a second
IMAGE_SIDE = 4


def classify_csv(n_rows: int, offset: int = 0, wide: bool = False) -> str:
    """A binary classification CSV whose label follows `age` (learnable)."""
    header = "age,height,colour,target" if wide else "age,colour,target"
    lines = [header]
    for index in range(offset, offset + n_rows):
        age = index % 50
        colour = ("red", "blue", "green")[index % 3]
        label = int(age >= 25)
        middle = f"{age},{150 + index % 40},{colour}" if wide else f"{age},{colour}"
        lines.append(f"{middle},{label}")
    return "\n".join(lines) + "\n"


def regress_csv(n_rows: int) -> str:
    """A regression CSV: target = 2 x1 - x2."""
    lines = ["x1,x2,target"]
    for index in range(n_rows):
        x1, x2 = index % 7, index % 5
        lines.append(f"{x1},{x2},{2 * x1 - x2}")
    return "\n".join(lines) + "\n"


def slow_corpus(n_documents: int) -> list[tuple[str, str]]:
    """`(text, label)` rows over a 500-word vocabulary of letters-only words."""
    letters = string.ascii_lowercase
    words = ["".join(letters[(i // 26**k) % 26] for k in range(3)) + "x" for i in range(500)]
    return [(" ".join(words[(i * 7 + k * 13) % 500] for k in range(12)), str(i % 2))
            for i in range(n_documents)]


def write_fixture_datasets(root: Path) -> Path:
    """Every dataset folder the Worker tests use, under `root`; returns `root`."""
    write_tabular(root / "alpha" / "train", classify_csv(60), CLASSIFY_SCHEMA)
    write_tabular(root / "alpha" / "evaluate", classify_csv(20, offset=7), CLASSIFY_SCHEMA)
    write_tabular(root / "alpha" / "predict", classify_csv(15, offset=3), CLASSIFY_SCHEMA)
    write_tabular(root / "beta" / "train", classify_csv(25, wide=True), WIDE_SCHEMA)
    write_tabular(root / "beta" / "evaluate", classify_csv(9, offset=1, wide=True), WIDE_SCHEMA)
    write_tabular(root / "gamma" / "train", regress_csv(40), REGRESS_SCHEMA)
    write_tabular(root / "gamma" / "evaluate", regress_csv(12), REGRESS_SCHEMA)
    write_tabular(root / "mutable" / "train", classify_csv(10), CLASSIFY_SCHEMA)
    write_text(root / "slow" / "train", slow_corpus(SLOW_DOCUMENTS))
    write_tabular(root / "twins" / "one" / "shared", classify_csv(5), CLASSIFY_SCHEMA)
    write_tabular(root / "twins" / "two" / "shared", classify_csv(5), CLASSIFY_SCHEMA)
    rng = np.random.default_rng(0)
    images = {f"img_{i}.png": rng.integers(0, 255, (IMAGE_SIDE, IMAGE_SIDE), dtype=np.uint8)
              for i in range(8)}
    write_images(root / "pictures" / "train", images,
                 {name: str(i % 2) for i, name in enumerate(images)})
    (root / "notes.json").write_text(json.dumps({"about": "not a dataset"}))
    return root
