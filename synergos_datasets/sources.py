"""The example datasets, built from data scikit-learn ships (no download), with the quirks
each federated scenario needs (missing columns on one party, NaNs, string categories...)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn import datasets as sk_datasets


@dataclass
class ExampleSource:
    """One example dataset before it is split: rows (features + `target`) and how to split them."""

    name: str
    datatype: str
    action: str
    frame: pd.DataFrame
    schema: dict[str, str]
    description: str
    label_skew: bool = False
    columns_absent: dict[int, list[str]] = field(default_factory=dict)
    images: np.ndarray | None = None
    seed_tags: bool = False  # also write the seeds' example tags (synergos_datasets.seed_tags)


def _snake(name: str) -> str:
    return "_".join(name.replace("(", " ").replace(")", " ").replace("/", " ").split()).lower()


def _numeric_frame(bunch: object) -> pd.DataFrame:
    frame = pd.DataFrame(bunch.data, columns=[_snake(name) for name in bunch.feature_names])
    frame["target"] = bunch.target
    return frame


def _tabular_schema(frame: pd.DataFrame, target_dtype: str) -> dict[str, str]:
    schema = {name: ("float64" if pd.api.types.is_numeric_dtype(frame[name]) else "category")
              for name in frame.columns if name != "target"}
    schema["target"] = target_dtype
    return schema


def breast_cancer(seed: int) -> ExampleSource:
    """Binary; a string `size_band` category, ~3 % NaNs in five columns, and party 2 lacks
    two feature columns."""
    frame = _numeric_frame(sk_datasets.load_breast_cancer())
    bands = np.quantile(frame["mean_radius"], [1 / 3, 2 / 3])
    frame["size_band"] = np.array(["small", "medium", "large"], dtype=object)[
        np.searchsorted(bands, frame["mean_radius"].to_numpy())]
    rng = np.random.default_rng(seed)
    for name in ("mean_texture", "mean_smoothness", "worst_area", "mean_concavity", "size_band"):
        frame.loc[rng.random(len(frame)) < 0.03, name] = np.nan
    frame = frame[sorted(frame.columns)]
    return ExampleSource(
        "breast_cancer", "tabular", "classify", frame, _tabular_schema(frame, "int32"),
        "Wisconsin breast cancer (binary). Misaligned: party 2 lacks worst_symmetry and "
        "worst_fractal_dimension; ~3 % NaNs in five columns; string category size_band.",
        columns_absent={2: ["worst_symmetry", "worst_fractal_dimension"]}, seed_tags=True,
    )


def breast_cancer_iid(seed: int) -> ExampleSource:
    """Binary, the same 30 numeric columns everywhere, no NaN: the IID quality baseline."""
    del seed
    frame = _numeric_frame(sk_datasets.load_breast_cancer())
    return ExampleSource(
        "breast_cancer_iid", "tabular", "classify", frame, _tabular_schema(frame, "int32"),
        "Wisconsin breast cancer (binary), IID split, all columns on every party, no NaN.",
    )


def wine(seed: int) -> ExampleSource:
    """Three classes; the training rows are label-skewed between parties."""
    del seed
    frame = _numeric_frame(sk_datasets.load_wine())
    return ExampleSource(
        "wine", "tabular", "classify", frame, _tabular_schema(frame, "int32"),
        "Wine cultivars (3 classes); training rows label-skewed: each class gives 70 % of its "
        "rows to one party.", label_skew=True,
    )


def diabetes(seed: int) -> ExampleSource:
    """Regression: disease progression after one year (float target)."""
    del seed
    frame = _numeric_frame(sk_datasets.load_diabetes())
    frame["target"] = frame["target"].astype(float)
    return ExampleSource(
        "diabetes", "tabular", "regress", frame, _tabular_schema(frame, "float64"),
        "Diabetes progression (regression, float target), IID split.",
    )


def digits(seed: int) -> ExampleSource:
    """8x8 grayscale digit images (10 classes), written as PNG files + mapping.csv."""
    del seed
    bunch = sk_datasets.load_digits()
    images = np.clip(np.rint(bunch.images * (255.0 / 16.0)), 0, 255).astype(np.uint8)
    frame = pd.DataFrame({"image": [f"img_{i:04d}.png" for i in range(len(images))],
                          "target": bunch.target})
    return ExampleSource(
        "digits", "image", "classify", frame, {}, "Handwritten digits, 8x8 grayscale PNG "
        "images (10 classes), IID split.", images=images,
    )


SOURCES: dict[str, Callable[[int], ExampleSource]] = {
    "breast_cancer": breast_cancer,
    "breast_cancer_iid": breast_cancer_iid,
    "wine": wine,
    "diabetes": diabetes,
    "digits": digits,
}
