"""Synergos Worker: holds one participant's private data; preprocesses it, and trains,
evaluates and predicts locally for the TTP (command port `/worker`, binary data port `/data`)."""

from __future__ import annotations

__all__ = ["ROLE"]

ROLE = "worker"
