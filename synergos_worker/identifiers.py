"""Identifiers taken from URLs: plain names only, so they are safe as folder names."""

from __future__ import annotations

import re

from synrest.errors import BadRequest

IDENTIFIER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}")


def check_identifier(field: str, value: object) -> str:
    """Return `value` if it is a plain name (letters, digits, '_', '-', '.'; no leading dot),
    else raise BadRequest (400) naming `field`."""
    if not isinstance(value, str) or not IDENTIFIER.fullmatch(value):
        raise BadRequest(f"{field} must be 1-128 letters, digits, '_', '-' or '.' and may not "
                         f"start with '.' or '-'", errors={field: "not a plain name"})
    return value


def check_run_key(project_id: object, expt_id: object, run_id: object) -> tuple[str, str, str]:
    """The validated `(project_id, expt_id, run_id)` of a run route."""
    return (check_identifier("project_id", project_id), check_identifier("expt_id", expt_id),
            check_identifier("run_id", run_id))
