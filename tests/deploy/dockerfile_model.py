"""A small reader of Dockerfiles: stages, their instructions, and what a target inherits.

Enough for asserting the deployment contract (user, ports, volumes, entrypoint, installs);
hadolint does the linting.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Stage:
    """One `FROM ... [AS name]` stage and its instructions as (KEYWORD, arguments) pairs."""

    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def arguments(self, keyword: str) -> list[str]:
        """The argument strings of every `keyword` instruction of this stage, in order."""
        return [arguments for key, arguments in self.instructions if key == keyword]


def read_stages(path: Path) -> list[Stage]:
    """Parse a Dockerfile into its stages (comments dropped, continuations joined)."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not pending):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    stages: list[Stage] = []
    for line in logical:
        keyword, _, arguments = line.partition(" ")
        keyword, arguments = keyword.upper(), arguments.strip()
        if keyword == "FROM":
            words = arguments.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=words[0], name=name))
        elif stages:
            stages[-1].instructions.append((keyword, arguments))
    return stages


def lineage(stages: list[Stage], target: Stage) -> list[Stage]:
    """`target` and the stages it is built FROM, nearest first."""
    by_name = {stage.name: stage for stage in stages if stage.name}
    chain = [target]
    while chain[-1].base in by_name:
        chain.append(by_name[chain[-1].base])
    return chain


def effective(stages: list[Stage], target: Stage, keyword: str) -> str | None:
    """The last `keyword` value that applies to `target` (inherited through FROM <stage>)."""
    for stage in lineage(stages, target):
        values = stage.arguments(keyword)
        if values:
            return values[-1]
    return None


def collected(stages: list[Stage], target: Stage, keyword: str) -> set[str]:
    """Every value of a cumulative instruction (EXPOSE, VOLUME) that applies to `target`."""
    values: set[str] = set()
    for stage in lineage(stages, target):
        for arguments in stage.arguments(keyword):
            values.update(exec_form(arguments) if arguments.startswith("[") else
                          arguments.split())
    return values


def exec_form(arguments: str) -> list[str]:
    """The list of a JSON exec-form instruction (`["a", "b"]`); shell form is split."""
    if arguments.startswith("["):
        return json.loads(arguments)
    return shlex.split(arguments)


def global_arguments(path: Path) -> dict[str, str]:
    """`ARG NAME=default` lines before the first FROM: the build arguments a FROM may use."""
    defaults: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.upper().startswith("FROM "):
            break
        if line.upper().startswith("ARG ") and "=" in line:
            name, _, value = line[4:].strip().partition("=")
            defaults[name] = value
    return defaults


def base_image(stage: Stage, defaults: dict[str, str]) -> str:
    """A stage's base image with `${ARG}` replaced by the argument's default."""
    base = stage.base
    for name, value in defaults.items():
        base = base.replace(f"${{{name}}}", value)
    return base
