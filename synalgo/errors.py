"""Exceptions raised by the ML core; each carries a message meant for the user."""

from __future__ import annotations


class AlgoError(ValueError):
    """Base class of every error synalgo raises on bad input or configuration."""


class SpecError(AlgoError):
    """A model spec is invalid; `errors` maps field paths to messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = dict(errors)
        detail = "; ".join(f"{path}: {message}" for path, message in sorted(self.errors.items()))
        super().__init__(f"invalid model spec: {detail}")


class RunConfigError(AlgoError):
    """A run configuration is invalid or cannot be used with the chosen algorithm."""


class CodecError(AlgoError):
    """Bytes could not be decoded as (or tensors could not be encoded to) the wire format."""


class AggregationError(AlgoError):
    """Client updates cannot be aggregated (no updates, mismatched keys or shapes, too few)."""


class TrainingError(AlgoError):
    """Local training or evaluation failed on the given data (shape mismatch, divergence)."""


class AlignmentError(AlgoError):
    """Headers, summaries or matrices given to the alignment functions are malformed."""
