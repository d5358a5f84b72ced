"""Text pipeline: two-column CSVs (text, target) -> bag-of-words counts (`w_<token>` columns)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from synergos_worker.datasets.errors import InvalidDataset
from synergos_worker.datasets.features import (
    ROW_NUMBER,
    Allocator,
    MetaFeatures,
    RowIds,
    outer_join_dense,
    zeros_matrix,
)
from synergos_worker.datasets.folder import DatasetSpec, check_options, files_with_suffix
from synergos_worker.datasets.targets import TARGET, Target, concat_targets, target_from_values

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import CountVectorizer
# scikit-learn is imported when a text folder is read, not at start: it is 1.7 s of a
# Worker's start-up, and most Workers never see text.

VECTORIZER_OPTIONS = {"max_features", "min_df", "max_df", "ngram_range", "lowercase", "binary",
                      "strip_accents"}
TOGGLE_OPTIONS = {"keep_html", "keep_numbers", "keep_stopwords"}
# Accepted for compatibility with Synergos 1 metadata and reported as ignored: the
# vectorizer keeps words (and numbers) only, so punctuation never becomes a column.
UNSUPPORTED_OPTIONS = {"keep_punctuations", "keep_contractions", "spellcheck", "lemmatize"}
TEXT_OPTIONS = VECTORIZER_OPTIONS | TOGGLE_OPTIONS | UNSUPPORTED_OPTIONS
DEFAULTS: dict[str, Any] = {"max_features": 1000, "strip_accents": "unicode", "keep_html": False,
                            "keep_numbers": False, "keep_stopwords": False}
HTML_TAG = re.compile(r"<[^>]*>")
WORDS_ONLY = r"(?u)\b[^\W\d_][^\W\d_]+\b"
WORDS_AND_NUMBERS = r"(?u)\b\w\w+\b"


def _vectorizer(spec: DatasetSpec) -> tuple[CountVectorizer, list[str]]:
    """Build the CountVectorizer the folder's options ask for; also list ignored options."""
    from sklearn.feature_extraction.text import CountVectorizer

    check_options(spec, TEXT_OPTIONS)
    options = {**DEFAULTS, **spec.options}
    kwargs = {key: options[key] for key in VECTORIZER_OPTIONS if key in options}
    if "ngram_range" in kwargs:
        ngrams = kwargs["ngram_range"]
        if not (isinstance(ngrams, list) and len(ngrams) == 2
                and all(isinstance(n, int) and n > 0 for n in ngrams)):
            raise InvalidDataset(f"{spec.display}/metadata.json: option 'ngram_range' must be "
                                 "[min_n, max_n]")
        kwargs["ngram_range"] = tuple(ngrams)
    if not options["keep_html"]:
        kwargs["preprocessor"] = _HtmlStripper(kwargs.get("lowercase", True),
                                               kwargs.get("strip_accents"))
    kwargs["token_pattern"] = WORDS_AND_NUMBERS if options["keep_numbers"] else WORDS_ONLY
    if not options["keep_stopwords"]:
        kwargs["stop_words"] = "english"
    ignored = sorted(key for key in UNSUPPORTED_OPTIONS if spec.options.get(key))
    return CountVectorizer(dtype=np.float32, **kwargs), ignored


class _HtmlStripper:
    """CountVectorizer preprocessor: drop HTML tags, then strip accents and lowercase."""

    def __init__(self, lowercase: bool, strip_accents: str | None) -> None:
        from sklearn.feature_extraction.text import strip_accents_ascii, strip_accents_unicode

        self.lowercase = lowercase
        self.strip_accents = {"unicode": strip_accents_unicode,
                              "ascii": strip_accents_ascii}.get(strip_accents or "")

    def __call__(self, text: str) -> str:
        text = HTML_TAG.sub(" ", text)
        if self.strip_accents is not None:
            text = self.strip_accents(text)
        return text.lower() if self.lowercase else text


def _read_documents(spec: DatasetSpec, path: Path, labels_optional: bool) -> pd.DataFrame:
    """The file's `text`, `target` (empty when unlabeled) and `id` columns: named columns,
    else the first two columns (text, target) besides the `id_column`."""
    shown = spec.describe_file(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""],
                            skip_blank_lines=False)  # an empty line is an empty document
    except (ValueError, UnicodeDecodeError, OSError) as error:
        raise InvalidDataset(f"{shown} cannot be parsed: {error}") from error
    id_column = spec.id_column
    if id_column is not None and id_column not in frame.columns:
        raise InvalidDataset(f"{shown} has no id column {id_column!r} (named by "
                             f"{spec.display}/metadata.json; columns: {list(frame.columns)[:10]})")
    ids = (frame[id_column].fillna("").tolist() if id_column is not None
           else [str(index) for index in range(len(frame))])
    rest = frame.drop(columns=[id_column]) if id_column is not None else frame
    if {"text", TARGET}.issubset(rest.columns):
        rest = rest[["text", TARGET]]
    elif len(rest.columns) == 2:
        rest = rest.set_axis(["text", TARGET], axis=1)
    elif labels_optional and ("text" in rest.columns or len(rest.columns) == 1):
        rest = pd.DataFrame({"text": rest["text" if "text" in rest.columns else rest.columns[0]],
                             TARGET: pd.Series([None] * len(rest), dtype=object)})
    else:
        expected = "(text[, target])" if labels_optional else "(text, target)"
        raise InvalidDataset(f"{shown} must have two columns {expected}"
                             f"{' besides its id column' if id_column else ''}, "
                             f"got {list(frame.columns)[:10]}")
    rest = rest.copy()
    rest["text"] = rest["text"].fillna("")
    rest["id"] = ids
    return rest


def _vectorize(spec: DatasetSpec, texts: list[str]) -> tuple[np.ndarray, list[str], list[str]]:
    vectorizer, ignored = _vectorizer(spec)
    try:
        counts = vectorizer.fit_transform(texts)
    except (ValueError, TypeError) as error:  # bad option values, an empty vocabulary
        raise InvalidDataset(f"{spec.display}: cannot build the bag of words (check the text "
                             f"options of its metadata.json): {error}") from error
    columns = [f"w_{token}" for token in vectorizer.get_feature_names_out()]
    return counts.toarray(), columns, ignored


def load_text_meta(specs: list[DatasetSpec], action: str,
                   allocate: Allocator = zeros_matrix,
                   labels_optional: bool = False) -> MetaFeatures:
    """Run the text pipeline on every dataset folder of one meta: one vocabulary per folder
    (with its options), then rows appended and vocabularies outer-joined. With
    `labels_optional` (prediction data) documents without a target are kept."""
    parts: list[tuple[np.ndarray, list[str]]] = []
    targets: list[Target] = []
    ids: list[str] = []
    ignored: set[str] = set()
    n_files = without_target = 0
    several = sum(len(files_with_suffix(spec, ".csv")) for spec in specs) > 1
    for spec in specs:
        paths = files_with_suffix(spec, ".csv")
        if not paths:
            raise InvalidDataset(f"{spec.display} holds no CSV file")
        frames = []
        for path in paths:
            frame = _read_documents(spec, path, labels_optional)
            if several and spec.id_column is None:
                frame["id"] = [f"{spec.describe_file(path)}:{row}" for row in frame["id"]]
            target = target_from_values(frame[TARGET], action, spec.describe_file(path))
            keep = np.ones(len(frame), dtype=bool) if labels_optional else ~target.missing()
            without_target += int(target.missing().sum())
            frames.append(frame[keep])
            targets.append(target.take(keep))
        n_files += len(paths)
        documents = pd.concat(frames)
        texts = documents["text"].tolist()
        ids.extend(documents["id"].tolist())
        if not texts:
            raise InvalidDataset(f"{spec.display}: no document" + (
                "" if labels_optional else " with a target value"))
        counts, columns, skipped = _vectorize(spec, texts)
        ignored.update(skipped)
        parts.append((counts, columns))
    matrix, columns = outer_join_dense(parts, allocate)
    words = float(matrix.sum())
    metadata: dict[str, Any] = {
        "src_count": n_files, "documents": len(matrix), "word_count": len(columns),
        "total_words": int(words), "representation": "bag_of_words",
        "sparsity": float(1.0 - np.count_nonzero(matrix) / matrix.size) if matrix.size else 1.0,
        "rows_without_target": without_target, "ignored_options": sorted(ignored),
    }
    return MetaFeatures(
        X=matrix, columns=columns,
        target=concat_targets(targets),
        schema={"text": "object", TARGET: "category" if action == "classify" else "float32"},
        metadata=metadata,
        rows=(RowIds("/".join(sorted({spec.id_column or ROW_NUMBER for spec in specs})), ids)
              if labels_optional else None),
    )
