"""The metas: the three roles a Worker's data plays in a project (tags, preprocessing,
predictions are all kept per meta)."""

from __future__ import annotations

METAS = ("train", "evaluate", "predict")
