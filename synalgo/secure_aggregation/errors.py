"""The one error type of the secure-aggregation protocol."""

from __future__ import annotations


class SecAggError(ValueError):
    """A protocol step cannot go on; the message names the participant or field at fault."""
