"""Write `.env` for docker-compose.yml from `.env.example`, with a fresh secret per empty value.

Usage (from the repository root): `python3 docker/make_env.py [--example .env.example]
[--output .env] [--force]`. Values already set in the example are kept; every empty
`NAME=` line gets `secrets.token_urlsafe(32)` (valid both as a node token and as the MQ
password). An existing output file is never overwritten without `--force`.
Standard library only, so it runs before anything is installed.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
EMPTY_ASSIGNMENT = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)=\s*$")


def fill_secrets(example_text: str) -> tuple[str, list[str]]:
    """Return the example with a new secret on every empty `NAME=` line, and those names."""
    lines: list[str] = []
    filled: list[str] = []
    for line in example_text.splitlines():
        match = EMPTY_ASSIGNMENT.match(line)
        if match:
            filled.append(match["name"])
            line = f"{match['name']}={secrets.token_urlsafe(32)}"
        lines.append(line)
    return "\n".join(lines) + "\n", filled


def write_env(example: Path, output: Path, force: bool = False) -> list[str]:
    """Write `output` (mode 0600) from `example`; return the names that got a new secret."""
    if output.exists() and not force:
        raise FileExistsError(f"{output} exists; pass --force to replace it")
    text, filled = fill_secrets(example.read_text(encoding="utf-8"))
    descriptor = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(output, 0o600)
    return filled


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; prints the generated variable names, never their values."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", type=Path, default=REPOSITORY_ROOT / ".env.example",
                        help="template to fill (default: .env.example)")
    parser.add_argument("--output", type=Path, default=REPOSITORY_ROOT / ".env",
                        help="file to write (default: .env)")
    parser.add_argument("--force", action="store_true", help="replace an existing output")
    args = parser.parse_args(argv)
    try:
        filled = write_env(args.example, args.output, args.force)
    except (FileExistsError, FileNotFoundError) as error:
        parser.error(str(error))
    print(f"wrote {args.output} with new secrets for: {', '.join(filled) or 'nothing'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
