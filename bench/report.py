"""How every side-by-side benchmark hands back its tables: printed, and with `--markdown PATH`
also written, under a heading that says when and with which command they were made."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path


def publish(title: str, module: str, argv: Sequence[str] | None, body: str,
            markdown: Path | None) -> None:
    """Print `title (date, command)` and `body`; also write them to `markdown` when given."""
    command = " ".join(["python -m", module, *(sys.argv[1:] if argv is None else argv)])
    text = f"{title} ({date.today()}, `{command}`)\n\n{body}\n"
    print(text)
    if markdown is not None:
        markdown.write_text(text, encoding="utf-8")
