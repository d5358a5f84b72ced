"""Command lines of the deployment files, and the parsers that must accept them.

`docker run` examples come from fenced blocks of the docs; compose commands come from the
normalised `docker-compose config` output. Each is parsed by the real parser of the program
that the container runs, so the deployment files cannot drift from the code.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Image repository -> the module whose `build_parser()` parses the container's arguments.
SERVICE_MODULES = {
    "synergos_ttp": "synergos_ttp.__main__",
    "synergos_worker": "synergos_worker.__main__",
    "synergos_director": "synergos_director.__main__",
}
# Entrypoint overrides used in docker-compose.yml -> the module with that program's parser.
ENTRYPOINT_MODULES = {
    ("synergos-datasets",): "synergos_datasets.builder",
    ("synergos-director",): "synergos_director.__main__",
}
MLFLOW_SERVER = ("mlflow", "server")
# Images whose containers take no arguments (their configuration is environment only).
ARGUMENTLESS_IMAGES = {"synergos_mq"}
# `docker run` options that take no value; every other option takes one.
DOCKER_RUN_SWITCHES = {
    "--rm", "-d", "--detach", "-i", "--interactive", "-t", "--tty", "-it", "-ti", "--init",
    "--read-only", "--privileged", "-P", "--publish-all", "--sig-proxy",
}
# Flags whose value must name an existing file when parsed (replaced by stand-in files).
FILE_FLAGS = ("--tls_cert", "--tls_key")

_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


@dataclass
class DockerRun:
    """One `docker run` example: its docker options, image and the container's arguments."""

    source: str
    options: list[tuple[str, str | None]] = field(default_factory=list)
    image: str = ""
    args: list[str] = field(default_factory=list)

    @property
    def repository(self) -> str:
        """The image name without its tag."""
        return image_repository(self.image)

    def values(self, *names: str) -> list[str]:
        """Values of the docker options called any of `names` (e.g. "-p", "--publish")."""
        return [value for name, value in self.options if name in names and value is not None]


def docker_run_blocks(markdown: str) -> list[str]:
    """Every fenced block whose first non-empty line starts with `docker run`."""
    blocks = []
    for match in _FENCE.finditer(markdown):
        body = match.group(1)
        lines = [line for line in body.splitlines() if line.strip()]
        if lines and lines[0].lstrip().startswith("docker run"):
            blocks.append(body)
    return blocks


def parse_docker_run(block: str) -> DockerRun:
    """Split a `docker run ...` block (backslash continuations allowed) into its parts."""
    tokens = shlex.split(block.replace("\\\n", " "), comments=False)
    if tokens[:2] != ["docker", "run"]:
        raise ValueError(f"not a docker run command: {block[:60]!r}")
    run = DockerRun(source=block)
    position = 2
    while position < len(tokens):
        token = tokens[position]
        if not token.startswith("-"):
            run.image, run.args = token, tokens[position + 1:]
            return run
        if "=" in token and token.startswith("--"):
            name, value = token.split("=", 1)
            run.options.append((name, value))
        elif token in DOCKER_RUN_SWITCHES:
            run.options.append((token, None))
        else:
            if position + 1 >= len(tokens):
                raise ValueError(f"docker option {token} has no value in {block[:60]!r}")
            run.options.append((token, tokens[position + 1]))
            position += 1
        position += 1
    raise ValueError(f"no image in docker run command {block[:60]!r}")


def load_build_parser(module_name: str) -> Any:
    """The `build_parser()` of `module_name`, or an AssertionError saying it is missing."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise AssertionError(f"{module_name} cannot be imported yet ({error}); the deployment "
                             "files name it as a container's program") from error
    build_parser = getattr(module, "build_parser", None)
    assert callable(build_parser), (
        f"{module_name} must expose build_parser() returning its full argparse parser")
    return build_parser()


def with_stand_in_files(args: list[str], folder: Path) -> list[str]:
    """Replace the values of flags that must name existing files with empty files in `folder`.

    Only existence is checked at parse time; the real files live in the container.
    """
    replaced = list(args)
    for index, token in enumerate(replaced[:-1]):
        if token in FILE_FLAGS:
            stand_in = folder / Path(replaced[index + 1]).name
            stand_in.touch()
            replaced[index + 1] = str(stand_in)
    return replaced


def parse_service_args(module_name: str, args: list[str], folder: Path) -> Any:
    """Parse `args` with the module's own parser; AssertionError with its message on rejection."""
    parser = load_build_parser(module_name)
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            return parser.parse_args(with_stand_in_files(args, folder))
    except SystemExit as exit_:
        raise AssertionError(f"{module_name} rejects {shlex.join(args)!r}: "
                             f"{errors.getvalue().strip()}") from exit_


def parse_mlflow_server_args(args: list[str]) -> dict[str, Any]:
    """Parse `mlflow server` arguments with MLflow's own click command (nothing is started)."""
    import click
    from mlflow.cli import server

    try:
        context = server.make_context("mlflow server", list(args))
    except click.ClickException as error:
        raise AssertionError(f"mlflow server rejects {shlex.join(args)!r}: "
                             f"{error.format_message()}") from error
    return dict(context.params)


def image_repository(image: str) -> str:
    """The image name without its tag."""
    return image.rsplit(":", 1)[0] if ":" in image else image


def check_container_command(image: str, entrypoint: list[str] | None, args: list[str],
                            folder: Path) -> Any:
    """Parse `args` with the parser of what the container runs; return the parsed result."""
    repository = image_repository(image)
    if entrypoint:
        if tuple(entrypoint) == MLFLOW_SERVER[:1] and args[:1] == ["server"]:
            return parse_mlflow_server_args(args[1:])
        if tuple(entrypoint) == MLFLOW_SERVER:
            return parse_mlflow_server_args(args)
        module = ENTRYPOINT_MODULES.get(tuple(entrypoint))
        assert module, f"no known parser for entrypoint {entrypoint} of {image}"
        return parse_service_args(module, args, folder)
    if repository in ARGUMENTLESS_IMAGES:
        assert not args, f"{image} takes no arguments, got {args}"
        return None
    assert repository in SERVICE_MODULES, f"unknown image {image}"
    return parse_service_args(SERVICE_MODULES[repository], args, folder)
