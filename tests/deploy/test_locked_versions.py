"""constraints.txt pins every package the project installs (`.[all,dev]` and everything those
require), so `.venv`, CI and the images run the same versions and a new upstream release
changes nothing until `make lock` takes it in. A dependency added to setup.py without
re-locking fails here."""

from __future__ import annotations

import importlib.metadata

from tests.deploy.tools import REPOSITORY_ROOT, distribution_name, requirements_with

# Not locked: the project itself, packaging tools, and torch (pinned at the file's head).
UNLOCKED = {"synergos", "pip", "setuptools", "wheel"}


def _pins() -> dict[str, list[str]]:
    """Package name -> every version constraints.txt pins it to."""
    pins: dict[str, list[str]] = {}
    for line in (REPOSITORY_ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not an exact pin"
            pins.setdefault(distribution_name(name), []).append(version.strip())
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
        found[name] = importlib.metadata.distribution(name).version
        pending.extend((distribution_name(requirement.name), frozenset(requirement.extras))
                       for requirement in requirements_with(name, extras))
    return found


def test_every_installed_dependency_is_pinned_at_its_installed_version() -> None:
    pins = _pins()
    assert not {name: versions for name, versions in pins.items() if len(versions) > 1}
    assert pins["torch"] == ["2.13.0"]
    unpinned = {name: version for name, version in _installed_closure().items()
                if name not in UNLOCKED | {"torch"} and pins.get(name) != [version]}
    assert not unpinned, f"not pinned at the installed version (run `make lock`): {unpinned}"
