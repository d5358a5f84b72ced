"""docker/*/Dockerfile: hadolint passes, and each image keeps the deployment contract
(role extra only, non-root user, the seeds' ports and volumes, the service as entrypoint)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.deploy.dockerfile_model import (
    Stage,
    base_image,
    collected,
    effective,
    exec_form,
    global_arguments,
    read_stages,
)
from tests.deploy.tools import (
    DOCKERFILES,
    HADOLINT_CONFIG,
    MQ_DIR,
    REPOSITORY_ROOT,
    hadolint_binary,
)

ORCHESTRATOR_VOLUMES = {"/orchestrator/data", "/orchestrator/outputs", "/mlflow"}
# role -> (targets, extra installed, entrypoint, exposed ports, volumes)
PYTHON_IMAGES = {
    "ttp": (("basic", "cluster"), "ttp", "synergos-ttp", {"5000"}, ORCHESTRATOR_VOLUMES),
    "worker": ((None,), "worker", "synergos-worker", {"5000", "8020"},
               {"/worker/data", "/worker/outputs"}),
}
DEFAULT_PYTHON_BASE = "python:3.11-slim"
# Features only BuildKit (or Docker Hub's dockerfile frontend) understands.
BUILDKIT_ONLY = re.compile(r"^#\s*syntax=|--chmod|--link|RUN\s+--mount|^#\s*check=",
                           re.MULTILINE | re.IGNORECASE)


def _target(stages: list[Stage], name: str | None) -> Stage:
    if name is None:
        return stages[-1]
    matches = [stage for stage in stages if stage.name == name]
    assert len(matches) == 1, f"no single stage named {name}"
    return matches[0]


def _assert_non_root(user: str | None) -> None:
    assert user is not None, "the image must switch to a non-root USER"
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0, f"USER {user} must be a numeric non-root id"


def _console_scripts() -> set[str]:
    setup = (REPOSITORY_ROOT / "setup.py").read_text(encoding="utf-8")
    return set(re.findall(r'"([a-z-]+)=[\w.]+:\w+"', setup))


def _top_level_packages() -> set[str]:
    setup = (REPOSITORY_ROOT / "setup.py").read_text(encoding="utf-8")
    include = re.search(r"include=\[(.*?)\]", setup, re.DOTALL)
    assert include, "setup.py find_packages(include=[...]) not found"
    return {name for name in re.findall(r'"([\w.*]+)"', include.group(1)) if "." not in name}


@pytest.mark.parametrize("role", sorted(DOCKERFILES))
def test_hadolint_passes(role: str) -> None:
    result = subprocess.run(
        [str(hadolint_binary()), "--config", str(HADOLINT_CONFIG), "--no-color",
         str(DOCKERFILES[role])], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"hadolint {role}:\n{result.stdout}{result.stderr}"


def test_hadolint_config_ignores_nothing_without_a_reason() -> None:
    lines = HADOLINT_CONFIG.read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        if re.match(r"\s*-\s*DL\d+|\s*-\s*SC\d+", line):
            before = lines[index - 1].strip() if index else ""
            assert "#" in line or before.startswith("#"), f"ignored rule without reason: {line}"


@pytest.mark.parametrize("role", sorted(PYTHON_IMAGES))
def test_python_image_contract(role: str) -> None:
    targets, extra, entrypoint, ports, volumes = PYTHON_IMAGES[role]
    stages = read_stages(DOCKERFILES[role])
    installs = [run for stage in stages for run in stage.arguments("RUN") if "pip install" in run]
    # dependencies (from setup.py alone: every node's, then the role's), then the code
    assert len(installs) == 3, installs
    code_install, slim, check = (step.strip() for step in installs[2].split("&&"))
    assert code_install.endswith("pip install --no-cache-dir --no-deps ."), installs[2]
    # then what no node reads goes, and the role is checked to still run
    assert slim.startswith("sh docker/slim_venv.sh /opt/venv"), installs[2]
    assert check == f"/opt/venv/bin/python docker/check_role.py {role}", installs[2]
    copies = [copy for stage in stages for copy in stage.arguments("COPY")]
    assert copies.index("setup.py constraints.txt ./") < copies.index(". .")
    extras = [re.findall(r"'\.\[(\w+)\]'", install) for install in installs[:2]]
    assert extras == [["node"], [extra]], "install every node's extra, then only the role's"
    for install in installs[:2]:
        assert "-c constraints.txt" in install and "--no-cache-dir" in install
        assert "--extra-index-url" in install, "torch's CPU wheel index is needed in the image"
        assert "--find-links docker/wheels" in install, "a machine's own torch wheel may be used"
    defaults = global_arguments(DOCKERFILES[role])
    assert defaults["BASE_IMAGE"] == DEFAULT_PYTHON_BASE
    named = {stage.name for stage in stages}
    assert {stage.base for stage in stages if stage.base not in named} == {"${BASE_IMAGE}"}
    assert entrypoint in _console_scripts()
    for name in targets:
        target = _target(stages, name)
        _assert_non_root(effective(stages, target, "USER"))
        assert exec_form(effective(stages, target, "ENTRYPOINT") or "[]") == [entrypoint]
        assert collected(stages, target, "EXPOSE") == ports
        assert collected(stages, target, "VOLUME") == volumes
        assert effective(stages, target, "CMD") is not None, "give a default CMD"
        health = effective(stages, target, "HEALTHCHECK") or ""
        assert health.endswith('CMD ["python", "-m", "syncommon.healthcheck"]'), health


def test_worker_and_ttp_builds_share_the_node_dependency_layer() -> None:
    """The build stages agree instruction for instruction up to the `node` extra's install,
    so the builder reuses that layer (torch and every node's dependency) for the second image."""
    prefixes = []
    for role in PYTHON_IMAGES:
        build = read_stages(DOCKERFILES[role])[0]
        installs = [index for index, (key, arguments) in enumerate(build.instructions)
                    if key == "RUN" and "'.[node]'" in arguments]
        assert len(installs) == 1, f"{role}: one install of the node extra"
        prefixes.append((build.base, build.instructions[:installs[0] + 1]))
    assert prefixes[0] == prefixes[1]
    setup = (REPOSITORY_ROOT / "setup.py").read_text(encoding="utf-8")
    assert re.search(r'"node": NODE\b', setup) and re.search(r"WORKER = NODE \+", setup) \
        and re.search(r"TTP = NODE \+", setup), "the roles' extras extend the node extra"


def test_ttp_cluster_target_prints_help_without_flags() -> None:
    stages = read_stages(DOCKERFILES["ttp"])
    assert exec_form(effective(stages, _target(stages, "cluster"), "CMD") or "") == ["--help"]


def test_director_image_is_the_ttp_cluster_image_with_its_own_entrypoint() -> None:
    """Director and TTP share every layer: the Director's file only adds metadata."""
    stages = read_stages(DOCKERFILES["director"])
    assert len(stages) == 1
    (image,) = stages
    assert base_image(image, global_arguments(DOCKERFILES["director"])) == \
        "synergos_ttp:syncluster"
    assert not image.arguments("RUN") and not image.arguments("COPY")
    _assert_non_root(effective(stages, image, "USER"))
    assert exec_form(effective(stages, image, "ENTRYPOINT") or "[]") == ["synergos-director"]
    assert exec_form(effective(stages, image, "CMD") or "[]") == ["--help"]
    ttp_stages = read_stages(DOCKERFILES["ttp"])
    assert collected(ttp_stages, _target(ttp_stages, "cluster"), "VOLUME") == \
        ORCHESTRATOR_VOLUMES


@pytest.mark.parametrize("role", sorted(DOCKERFILES))
def test_dockerfiles_build_with_the_legacy_builder_and_no_registry_frontend(role: str) -> None:
    text = DOCKERFILES[role].read_text(encoding="utf-8")
    assert not BUILDKIT_ONLY.search(text), f"{role}: {BUILDKIT_ONLY.search(text)}"


@pytest.mark.parametrize("role", sorted(PYTHON_IMAGES))
def test_build_context_sends_only_the_packages(role: str) -> None:
    """The legacy builder reads only the root .dockerignore; BuildKit falls back to it."""
    assert not DOCKERFILES[role].with_name("Dockerfile.dockerignore").exists()
    ignore = REPOSITORY_ROOT / ".dockerignore"
    patterns = [line.strip() for line in ignore.read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")]
    assert patterns[0] == "*", "start by excluding everything (.venv, tests, data)"
    allowed = {pattern[1:].rstrip("/") for pattern in patterns if pattern.startswith("!")}
    assert {"setup.py", "constraints.txt", "docker/wheels"} <= allowed
    assert not {".venv", "tests", "bench"} & allowed
    missing = _top_level_packages() - allowed
    assert not missing, f"packages setup.py installs but the build context omits: {missing}"


def test_setup_installs_only_synergos_packages() -> None:
    """Generic names (`examples`, `tests`, `bench`) would clash in a user's site-packages."""
    packages = _top_level_packages()
    assert "synergos_datasets" in packages  # the `synergos-datasets` console script's package
    assert not {"examples", "tests", "bench"} & packages
    assert all(name.startswith("syn") for name in packages), packages


def test_mq_image_contract() -> None:
    stages = read_stages(DOCKERFILES["mq"])
    assert [base_image(stage, global_arguments(DOCKERFILES["mq"])) for stage in stages] == \
        ["rabbitmq:3.13-management"]
    image = stages[0]
    _assert_non_root(effective(stages, image, "USER"))
    assert collected(stages, image, "EXPOSE") == {"5672", "15672"}
    assert collected(stages, image, "VOLUME") == {"/var/lib/rabbitmq"}
    copies = " ".join(image.arguments("COPY"))
    for source in ("definitions.json", "rabbitmq.conf", "synergos-mq-entrypoint.sh"):
        assert source in copies and (MQ_DIR / source).is_file(), source
    conf = (MQ_DIR / "rabbitmq.conf").read_text(encoding="utf-8")
    loaded = re.search(r"^load_definitions\s*=\s*(\S+)", conf, re.MULTILINE)
    assert loaded, "rabbitmq.conf must load the definitions at boot"
    assert f"definitions.json {loaded.group(1)}/" in copies
    assert exec_form(effective(stages, image, "ENTRYPOINT") or "[]") == [
        "synergos-mq-entrypoint.sh"]
    assert exec_form(effective(stages, image, "CMD") or "[]") == [
        "docker-entrypoint.sh", "rabbitmq-server"]


def test_every_dockerfile_is_listed() -> None:
    found = {path.relative_to(REPOSITORY_ROOT) for path in
             (REPOSITORY_ROOT / "docker").glob("*/Dockerfile")}
    assert found == {Path(path).relative_to(REPOSITORY_ROOT) for path in DOCKERFILES.values()}
