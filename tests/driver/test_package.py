"""The SDK imports with requests + tqdm only, documents every verb, and rejects bad input."""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import synergos
from synergos import Driver

REPO_ROOT = Path(__file__).resolve().parents[2]
RESOURCES = ("projects", "experiments", "runs", "participants", "registrations", "tags",
             "alignments", "models", "optimizations", "validations", "predictions", "jobs")

IMPORT_GUARD = textwrap.dedent("""
    import sys
    FORBIDDEN = {"flask", "flask_restx", "werkzeug", "torch", "numpy", "pandas", "sklearn",
                 "mlflow", "tinydb", "pika", "optuna", "safetensors", "psutil", "uvicorn",
                 "synrest", "synarchive", "synalgo", "synlogger", "synmanager",
                 "synergos_ttp", "synergos_worker", "synergos_director"}

    class Refuse:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in FORBIDDEN:
                raise ImportError(f"synergos must not import {name}")
            return None

    sys.meta_path.insert(0, Refuse())
    import synergos
    from synergos import Driver, SynergosError
    driver = Driver(host="127.0.0.1", port=5000, token="t")
    assert driver.models.create.__doc__
    loaded = sorted({m.split(".")[0] for m in sys.modules} & FORBIDDEN)
    assert not loaded, loaded
    print("ok", synergos.__version__)
""")


def test_import_needs_only_requests_and_tqdm() -> None:
    result = subprocess.run([sys.executable, "-c", IMPORT_GUARD], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok ")


def test_public_exports() -> None:
    for name in synergos.__all__:
        assert hasattr(synergos, name), name
    assert issubclass(synergos.UnreachableError, ConnectionError)
    for name in ("AuthenticationError", "NotFoundError", "ConflictError", "ValidationError",
                 "ServerError", "UnreachableError", "JobFailedError", "JobTimeoutError"):
        assert issubclass(getattr(synergos, name), synergos.SynergosError)


@pytest.mark.parametrize("resource_name", RESOURCES)
def test_every_verb_has_a_docstring_with_an_example(resource_name: str) -> None:
    resource = getattr(Driver("127.0.0.1", 5000), resource_name)
    verbs = [name for name, member in inspect.getmembers(resource, inspect.ismethod)
             if not name.startswith("_")]
    assert verbs
    for verb in verbs:
        doc = inspect.getdoc(getattr(resource, verb)) or ""
        assert "Example" in doc, f"{resource_name}.{verb} has no example"
        assert f"driver.{resource_name}.{verb}(" in doc or "driver.jobs" in doc, verb


def test_driver_docstring_lists_arguments() -> None:
    doc = inspect.getdoc(Driver) or ""
    for argument in ("host", "port", "token", "SYNERGOS_TOKEN", "secure", "verify", "timeout"):
        assert argument in doc


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"host": "", "port": 5000}, "host must be a non-empty string"),
    ({"host": "http://x", "port": 5000}, "no scheme"),
    ({"host": "x", "port": 0}, "port must be an integer"),
    ({"host": "x", "port": "abc"}, "port must be an integer"),
    ({"host": "x", "port": 5000, "token": 123}, "token must be a string"),
])
def test_bad_driver_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Driver(**kwargs)


def test_ipv6_host_is_bracketed() -> None:
    assert Driver("::1", 5000).base_url == "http://[::1]:5000"


@pytest.mark.parametrize(("call", "message"), [
    (lambda d: d.projects.read(""), "project_id must be a non-empty string"),
    (lambda d: d.projects.read(None), "project_id must be a non-empty string, got None"),
    (lambda d: d.runs.create("p1", "e1", 7), r"run_id must be a non-empty string, got 7 \(int\)"),
    (lambda d: d.models.create("p1", run_id="r1"), "run_id was given without expt_id"),
    (lambda d: d.validations.create("p1", "e1", participant_id="w1"),
     "participant_id was given without run_id"),
    (lambda d: d.predictions.create("w1", expt_id="e1"), "expt_id was given without project_id"),
    (lambda d: d.registrations.read_all(), "exactly one of project_id or participant_id"),
    (lambda d: d.registrations.read_all("p1", "w1"), "exactly one of"),
    (lambda d: d.projects.update("p1"), "at least one field"),
    (lambda d: d.jobs.read(""), "job_id must be a non-empty string"),
    (lambda d: d.jobs.wait("job-1", timeout=-1), "timeout must be None or >= 0"),
])
def test_bad_call_arguments_fail_before_any_request(call, message: str) -> None:
    # port 9 (discard) is never contacted: validation happens before the request
    with pytest.raises(ValueError, match=message):
        call(Driver("127.0.0.1", 9, timeout=1))
