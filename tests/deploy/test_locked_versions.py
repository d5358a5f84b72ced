"""constraints.txt pins every package the project installs (`.[all,dev]` and everything those
require), so `.venv`, CI and the images run the same versions and a new upstream release
changes nothing until `make lock` takes it in. A dependency added to setup.py without
re-locking fails here."""

from __future__ import annotations

import importlib.metadata
import re

from packaging.requirements import Requirement

from tests.deploy.tools import REPOSITORY_ROOT

# Not locked: the project itself, packaging tools, and torch (pinned at the file's head).
UNLOCKED = {"synergos", "pip", "setuptools", "wheel"}


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins() -> dict[str, list[str]]:
    """Package name -> every version constraints.txt pins it to."""
    pins: dict[str, list[str]] = {}
    for line in (REPOSITORY_ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not an exact pin"
            pins.setdefault(_name(name), []).append(version.strip())
    return pins


def _installed_closure() -> dict[str, str]:
    """Every installed distribution `synergos[all,dev]` requires, directly or not: version."""
    found: dict[str, str] = {}
    pending: list[tuple[str, frozenset[str]]] = [("synergos", frozenset({"all", "dev"}))]
    visited: set[tuple[str, frozenset[str]]] = set()
    while pending:
        name, extras = pending.pop()
        if (name, extras) in visited:
            continue
        visited.add((name, extras))
        distribution = importlib.metadata.distribution(name)
        found[name] = distribution.version
        for text in distribution.requires or []:
            requirement = Requirement(text)
            environments = [{"extra": extra} for extra in extras or {""}]
            if requirement.marker is None or any(requirement.marker.evaluate(environment)
                                                 for environment in environments):
                pending.append((_name(requirement.name), frozenset(requirement.extras)))
    return found


def test_every_installed_dependency_is_pinned_at_its_installed_version() -> None:
    pins = _pins()
    assert not {name: versions for name, versions in pins.items() if len(versions) > 1}
    assert pins["torch"] == ["2.13.0"]
    unpinned = {name: version for name, version in _installed_closure().items()
                if name not in UNLOCKED | {"torch"} and pins.get(name) != [version]}
    assert not unpinned, f"not pinned at the installed version (run `make lock`): {unpinned}"
