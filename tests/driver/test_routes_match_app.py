"""Every route the Driver calls exists in the real TTP and Director apps and in their OpenAPI.

The Driver's calls are not listed by hand: every public verb of every resource class is
called with sample arguments (each optional id prefix too) on a transport that records the
method and path instead of sending them. Each call must match a rule of the app's URL map
with that method, and the rule must appear in the app's `/swagger.json` with that method.
"""

from __future__ import annotations

import inspect
import itertools
import re
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Rule

import synergos.resources as driver_resources
from synarchive import Archive
from synergos.http import Envelope, Transport
from synergos.jobs import JobWaiter
from synergos.resources import Resource
from synergos_ttp.app import create_ttp_app
from synergos_ttp.config import TTPConfig, build_ttp_parser
from synergos_ttp.jobs import JobRunner

# A reply every verb accepts: a finished job, so verbs that wait fetch their result route too.
_FINISHED_JOB: Envelope = {"success": 1, "status": 200,
                           "data": {"job_id": "job1", "status": "succeeded"}}
# Samples of the arguments that do not shape a route, by annotation.
_RULE_VARIABLE = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
_SAMPLES: dict[Any, Any] = {str: "sample", int: 1, float: 1.0, bool: True, dict: {}, list: []}


class RecordingTransport(Transport):
    """A transport that records `(method, path)` and answers with a finished job."""

    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:1")
        self.calls: list[tuple[str, str]] = []

    def request(self, method: str, path: str, body: dict[str, Any] | None = None,
                query: dict[str, Any] | None = None) -> Envelope:
        self.calls.append((method, path))
        return dict(_FINISHED_JOB)


def _sample(parameter: inspect.Parameter, hints: dict[str, Any]) -> Any:
    if parameter.name.endswith("_id"):  # the same value as for an optional id
        return parameter.name.removesuffix("_id") + "1"
    hint = hints.get(parameter.name, str)
    origin = typing.get_origin(hint) or hint
    if origin in _SAMPLES:
        return _SAMPLES[origin]
    raise AssertionError(f"no sample value for argument {parameter.name} ({hint})")


def _argument_sets(function: Any) -> Iterator[dict[str, Any]]:
    """The required arguments with every subset of the optional ids."""
    hints = typing.get_type_hints(function)
    required: dict[str, Any] = {}
    optional_ids: list[str] = []
    for parameter in list(inspect.signature(function).parameters.values())[1:]:
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            required["extra_field"] = 1  # an update needs at least one field
        elif parameter.name in ("wait", "progress"):
            required["progress"] = False
        elif parameter.default is inspect.Parameter.empty:
            required[parameter.name] = _sample(parameter, hints)
        elif parameter.name.endswith("_id") and parameter.default is None:
            optional_ids.append(parameter.name)
    for count in range(len(optional_ids) + 1):
        for chosen in itertools.combinations(optional_ids, count):
            yield {**required, **{name: name.removesuffix("_id") + "1" for name in chosen}}


def _resource_classes() -> list[type[Resource]]:
    classes = [getattr(driver_resources, name) for name in driver_resources.__all__]
    return [cls for cls in classes if cls is not Resource and issubclass(cls, Resource)]


def driver_calls() -> list[tuple[str, str, str]]:
    """`(verb, method, path)` of every request every public verb of the Driver sends, for
    every combination of ids the verb accepts."""
    found: list[tuple[str, str, str]] = []
    for cls in _resource_classes():
        for verb, function in inspect.getmembers(cls, inspect.isfunction):
            if verb.startswith("_"):
                continue
            for arguments in _argument_sets(function):
                transport = RecordingTransport()
                try:
                    getattr(cls(transport, JobWaiter(transport)), verb)(**arguments)
                except ValueError:  # a combination of ids the Driver refuses to send
                    continue
                label = f"{cls.__name__}.{verb}({', '.join(arguments)})"
                found += [(label, method, path) for method, path in transport.calls]
    return found


DRIVER_CALLS = driver_calls()


def _openapi_path(rule: Rule) -> str:
    """The rule as OpenAPI writes it: `<string:project_id>` -> `{project_id}`."""
    return _RULE_VARIABLE.sub(r"{\1}", rule.rule).rstrip("/") or "/"


@pytest.fixture(scope="module", params=["basic", "cluster"], ids=["ttp", "director"])
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[Flask]:
    """The real app in the TTP's mode ("basic") and as the Director builds it ("cluster")."""
    home: Path = tmp_path_factory.mktemp(request.param)
    config = TTPConfig.from_args(build_ttp_parser().parse_args([
        "--insecure", "--data_dir", str(home / "data"), "--outputs_dir", str(home / "out")]))
    archive = Archive(home / "archive.json")
    runner = JobRunner(archive, max_workers=1)
    try:
        yield create_ttp_app(config, archive, runner, mode=request.param)
    finally:
        runner.shutdown()
        archive.close()


@pytest.fixture(scope="module")
def openapi_document(app: Flask) -> dict[str, Any]:
    """The app's OpenAPI document as `/swagger.json` serves it."""
    document = app.test_client().get("/swagger.json").get_json()
    assert isinstance(document, dict)
    return document


def test_every_resource_verb_sends_a_request() -> None:
    verbs = {label.split("(")[0] for label, _method, _path in DRIVER_CALLS}
    for cls in _resource_classes():
        public = [name for name, _ in inspect.getmembers(cls, inspect.isfunction)
                  if not name.startswith("_")]
        assert public, f"{cls.__name__} has no verbs"
        for name in public:
            assert f"{cls.__name__}.{name}" in verbs


@pytest.mark.parametrize(("label", "method", "path"), DRIVER_CALLS,
                         ids=[f"{label}:{method}" for label, method, _ in DRIVER_CALLS])
def test_driver_route_is_served_and_documented(app: Flask, openapi_document: dict[str, Any],
                                               label: str, method: str, path: str) -> None:
    adapter = app.url_map.bind("localhost")
    try:
        rule, _arguments = adapter.match(path, method=method, return_rule=True)
    except MethodNotAllowed:
        pytest.fail(f"{label}: the app serves {path} but not with {method}")
    except NotFound:
        pytest.fail(f"{label}: the app has no route for {method} {path}")
    paths = openapi_document["paths"]
    template = _openapi_path(rule)
    assert template in paths, f"{label}: {template} is not in the OpenAPI document"
    assert method.lower() in paths[template], (
        f"{label}: the OpenAPI document lists {template} without {method}")
