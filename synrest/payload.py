"""Reading request bodies inside handlers with clear 400/422 errors."""

from __future__ import annotations

import json
from typing import Any

from flask import request

from synrest.errors import BadRequest


def json_object(allow_empty: bool = True) -> dict[str, Any]:
    """Return the JSON object in the request body (`{}` for an empty body if allowed).

    Raises BadRequest (400) for malformed JSON or a body that is not a JSON object.
    """
    raw = request.get_data(cache=True)
    if not raw.strip():
        if allow_empty:
            return {}
        raise BadRequest("a JSON object body is required")
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise BadRequest(f"malformed JSON body: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest(f"the JSON body must be an object, not {type(body).__name__}")
    return body
