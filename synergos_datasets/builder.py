"""Write the example datasets as per-party Worker data folders (`synergos-datasets OUT_DIR`).

Layout: `OUT_DIR/party_<n>/<dataset>/{train,evaluate,predict}/` (one Worker per party serves
every dataset; tag e.g. `["breast_cancer", "train"]`), `OUT_DIR/central/<dataset>/{train,
evaluate}/` (the union of the parties' rows, for centralised baselines) and
`OUT_DIR/manifest.json`. breast_cancer also gets the seeds' tags (`["non_iid_1"]`,
`["iid_1"]`, `["edge_test_misalign"]`, ...: `seed_tags`) in `party_<n>/breast_cancer/`.
Each dataset keeps a held-out 20 % test split whose rows are divided between the parties'
`evaluate` folders; `predict` holds the same rows as `evaluate`.
Everything is deterministic for a given `--seed`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image
from sklearn.model_selection import train_test_split

from syncommon.metas import METAS
from synergos_datasets.partition import partition_iid, partition_label_skew
from synergos_datasets.seed_tags import seed_tag_frames
from synergos_datasets.sources import SOURCES, ExampleSource

TEST_SHARE = 0.2
DEFAULT_SEED = 42


def _write_json(path: Path, document: Any) -> None:
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def write_tabular_folder(folder: Path, frame: pd.DataFrame, schema: dict[str, str]) -> None:
    """Write one tabular Worker dataset folder: `metadata.json`, `schema.json`, `data.csv`."""
    folder.mkdir(parents=True, exist_ok=True)
    _write_json(folder / "metadata.json", {"datatype": "tabular"})
    _write_json(folder / "schema.json", {name: schema[name] for name in frame.columns})
    frame.to_csv(folder / "data.csv", index=False)


def _write_images(folder: Path, frame: pd.DataFrame, images: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    _write_json(folder / "metadata.json", {"datatype": "image", "options": {"color": "L"}})
    for index, name in zip(frame.index, frame["image"], strict=True):
        Image.fromarray(images[index], mode="L").save(folder / name, format="PNG")
    frame.to_csv(folder / "mapping.csv", index=False)


def _write_folder(source: ExampleSource, folder: Path, frame: pd.DataFrame) -> None:
    if source.datatype == "image":
        _write_images(folder, frame, source.images)
    else:
        write_tabular_folder(folder, frame, source.schema)


def _held_out(source: ExampleSource, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted row indexes of the training rows and of the held-out test rows."""
    frame = source.frame
    stratify = frame["target"] if source.action == "classify" else None
    train_rows, test_rows = train_test_split(
        np.arange(len(frame)), test_size=TEST_SHARE, random_state=seed, stratify=stratify)
    return np.sort(train_rows), np.sort(test_rows)


def _split_rows(source: ExampleSource, parties: int, seed: int
                ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Row indexes per party: (train parts, evaluate parts); evaluate parts split the test set."""
    frame = source.frame
    train_rows, test_rows = _held_out(source, seed)
    if source.label_skew:
        labels = frame["target"].to_numpy()[train_rows]
        train_parts = partition_label_skew(labels, parties, seed)
    else:
        train_parts = partition_iid(len(train_rows), parties, seed)
    test_parts = partition_iid(len(test_rows), parties, seed + 1)
    return ([train_rows[part] for part in train_parts], [test_rows[part] for part in test_parts])


def build_dataset(source: ExampleSource, out_dir: Path, parties: int, seed: int
                  ) -> dict[str, Any]:
    """Write one dataset for every party and the central folder; return its manifest entry."""
    train_parts, test_parts = _split_rows(source, parties, seed)
    rows: dict[str, dict[str, int]] = {}
    union: dict[str, list[pd.DataFrame]] = {"train": [], "evaluate": []}
    for number, (train, test) in enumerate(zip(train_parts, test_parts, strict=True), start=1):
        party = f"party_{number}"
        base = out_dir / party / source.name
        shutil.rmtree(base, ignore_errors=True)
        absent = source.columns_absent.get(number, [])
        pieces = {"train": train, "evaluate": test, "predict": test}
        for meta, indexes in pieces.items():
            frame = source.frame.iloc[indexes].drop(columns=absent)
            _write_folder(source, base / meta, frame)
            if meta in union:
                union[meta].append(frame)
        rows[party] = {meta: len(indexes) for meta, indexes in pieces.items()}
    central = out_dir / "central" / source.name
    shutil.rmtree(central, ignore_errors=True)
    for meta, frames in union.items():
        frame = pd.concat(frames)
        _write_folder(source, central / meta, frame[[c for c in source.frame if c in frame]])
    rows["central"] = {meta: sum(len(frame) for frame in frames) for meta, frames in union.items()}
    entry: dict[str, Any] = {
        "datatype": source.datatype, "action": source.action, "description": source.description,
        "rows": rows, "columns_absent": {f"party_{n}": cols for n, cols in
                                         source.columns_absent.items() if n <= parties},
        "tags": {meta: [[source.name, meta]] for meta in METAS},
    }
    if source.seed_tags:
        entry["seed_tags"] = _write_seed_tags(source, out_dir, parties, seed)
    if source.action == "classify":
        entry["classes"] = sorted(str(label) for label in source.frame["target"].unique())
    return entry


def _write_seed_tags(source: ExampleSource, out_dir: Path, parties: int, seed: int
                     ) -> dict[str, dict[str, int]]:
    """Write the seeds' tag folders (`seed_tags`) of `source`; return the row counts."""
    train_rows, test_rows = _held_out(source, seed)
    frames = seed_tag_frames(source.frame, train_rows, test_rows, source.columns_absent,
                             parties, seed)
    for party, folders in frames.items():
        for tag, rows in folders.items():
            write_tabular_folder(out_dir / party / source.name / tag, rows, source.schema)
    return {party: {tag: len(rows) for tag, rows in folders.items()}
            for party, folders in frames.items()}


def build_examples(out_dir: Path, parties: int = 2, names: list[str] | None = None,
                   seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """Write the chosen example datasets (all by default) under `out_dir`; return the manifest
    (also written to `out_dir/manifest.json`)."""
    names = list(SOURCES) if names is None else names
    unknown = [name for name in names if name not in SOURCES]
    if unknown:
        raise ValueError(f"unknown dataset(s) {unknown}; choose from {sorted(SOURCES)}")
    if parties < 1:
        raise ValueError(f"--parties must be at least 1, got {parties}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {
        "seed": seed, "parties": parties, "test_share": TEST_SHARE,
        "layout": "party_<n>/<dataset>/<meta>/ per Worker data root; central/<dataset>/<meta>/",
        "datasets": {},
    }
    for name in names:
        manifest["datasets"][name] = build_dataset(SOURCES[name](seed), out_dir, parties, seed)
    _write_json(out_dir / "manifest.json", manifest)
    return manifest


def build_parser() -> argparse.ArgumentParser:
    """The `synergos-datasets` argument parser (also used to check deployment files)."""
    parser = argparse.ArgumentParser(
        prog="synergos-datasets",
        description="Write per-party example datasets (from scikit-learn's bundled data).")
    parser.add_argument("out_dir", type=Path, help="folder to write party_<n>/ and central/ into")
    parser.add_argument("--parties", type=int, default=2, help="number of parties (default 2)")
    parser.add_argument("--datasets", default=",".join(SOURCES),
                        help=f"comma-separated subset of {','.join(SOURCES)}")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command line: `synergos-datasets OUT_DIR [--parties N] [--datasets a,b] [--seed S]`."""
    parser = build_parser()
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.datasets.split(",") if name.strip()]
    try:
        manifest = build_examples(args.out_dir, args.parties, names, args.seed)
    except ValueError as error:
        parser.error(str(error))
    for name, entry in manifest["datasets"].items():
        counts = ", ".join(f"{party}: {sizes['train']}/{sizes['evaluate']}"
                           for party, sizes in entry["rows"].items())
        print(f"{name} ({entry['datatype']}, {entry['action']}) train/evaluate rows: {counts}")
    print(f"wrote {args.out_dir / 'manifest.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
