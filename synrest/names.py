"""Plain names every node agrees on: a tag token the TTP accepts is one the Worker resolves.

A tag token names a folder under a Worker's data root, so it is a plain name: letters, digits,
`_`, `-` and `.`, starting with a letter, digit or `_` (no hidden folders), at most 255
characters (a file-name component), never `..`, a path separator or a control character.
"""

from __future__ import annotations

import re

TAG_TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,254}")
TAG_TOKEN_RULE = ("a plain name: letters, digits, '_', '-', '.', starting with a letter, digit "
                  "or '_', at most 255 characters; no path separators, no '..'")


def tag_token_problem(token: object) -> str | None:
    """None when `token` is a plain-name tag token, else what is wrong with it."""
    if not isinstance(token, str) or not token:
        return "must be a non-empty string"
    if ".." in token or not TAG_TOKEN_PATTERN.fullmatch(token):
        return f"must be {TAG_TOKEN_RULE}"
    return None
