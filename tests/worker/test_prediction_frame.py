"""The predictions table: ids first, unscored rows put back in input order."""

from __future__ import annotations

import numpy as np

from synergos_worker.datasets.features import RowIds
from synergos_worker.predictions import label_values, predictions_frame


def test_unscored_rows_keep_their_place_with_the_reason() -> None:
    rows = RowIds("image", ["a.png", "c.png"], [{"position": 1, "id": "b.png",
                                                 "reason": "b.png is not a readable image"}])
    frame = predictions_frame(rows, 2, ["no", "yes"], np.array([[0.9, 0.1], [0.2, 0.8]]))
    assert frame["image"].tolist() == ["a.png", "b.png", "c.png"]
    assert frame["y_pred"].tolist()[::2] == ["no", "yes"]
    assert frame["unscored_reason"].tolist() == ["", "b.png is not a readable image", ""]
    assert np.isnan(frame["proba_yes"][1])


def test_without_ids_rows_are_numbered_and_labels_lose_their_prefix() -> None:
    frame = predictions_frame(None, 2, None, np.array([1.5, -2.0]))
    assert list(frame.columns) == ["row", "y_pred", "unscored_reason"]
    assert frame["y_pred"].tolist() == [1.5, -2.0]
    assert label_values(["target_a b", "target_2"]) == ["a b", "2"]
