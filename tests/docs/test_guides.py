"""The user guides stay true to the code: every route the apps serve is in the REST guide with
its methods, every run field is in the algorithms guide with its default, the dataset guide
names every datatype and option, and README links every guide and the notebook."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from flask import Flask

from synalgo.run_config import RUN_DEFAULTS, SUPPORTED_ALGORITHMS
from synalgo.run_fields import (
    AGGREGATORS,
    CRITERION_ALLOW_LIST,
    INFORMATIONAL_FIELDS,
    OPTIMIZER_ALLOW_LIST,
    SCHEDULER_ALLOW_LIST,
)
from synarchive import Archive
from synergos_ttp.app import create_ttp_app
from synergos_ttp.config import TTPConfig, build_ttp_parser
from synergos_ttp.jobs import JobRunner
from synergos_ttp.optimization.metrics import CLASSIFY_METRICS, REGRESS_METRICS
from synergos_ttp.optimization.search_space import SAMPLER_TYPES
from synergos_worker.app import create_worker_apps
from synergos_worker.config import WorkerConfig, build_worker_parser
from synergos_worker.datasets.folder import DATATYPES
from synergos_worker.datasets.image import IMAGE_OPTIONS, MAPPING_FILE
from synergos_worker.datasets.tabular import TABULAR_OPTIONS
from synergos_worker.datasets.tabular_read import SCHEMA_FILE
from synergos_worker.datasets.tags import METADATA_FILE
from synergos_worker.datasets.text import TEXT_OPTIONS
from synergos_worker.services import WorkerServices
from synrest.binary_app import Admission, BinaryPortApp, BinaryResponse

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
TOKEN = "guides-test-token-0123456789"
IGNORED_METHODS = {"HEAD", "OPTIONS"}
UNDOCUMENTED_RULES = {"/"}  # flask-restx's root: answers 404 only
ROW = re.compile(r"^\|\s*(?P<methods>[A-Z, ]+?)\s*\|\s*`(?P<route>/[^`]*)`\s*\|", re.MULTILINE)


def _route(rule: str) -> str:
    """A Flask rule as the guide writes it: `<string:project_id>` -> `<project_id>`."""
    return re.sub(r"<string:([a-z_]+)>", r"<\1>", rule)


def _served(app: Flask | BinaryPortApp) -> dict[str, set[str]]:
    if isinstance(app, BinaryPortApp):
        return {"/health": {"GET"}} | {route.template: {"POST"} for route in app.routes}
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule not in UNDOCUMENTED_RULES:
            routes.setdefault(_route(rule.rule), set()).update(rule.methods - IGNORED_METHODS)
    return routes


def _documented(section: str) -> dict[str, set[str]]:
    rows: dict[str, set[str]] = {}
    for match in ROW.finditer(section):
        methods = {part.strip() for part in match["methods"].split(",") if part.strip()}
        rows.setdefault(match["route"], set()).update(methods)
    return rows


def _section(text: str, heading: str) -> str:
    """The text under `heading` up to the next heading of the same or a higher level."""
    level = len(heading) - len(heading.lstrip("#"))
    start = text.index(heading + "\n")
    following = re.compile(rf"^#{{1,{level}}} ", re.MULTILINE)
    end = following.search(text, start + len(heading) + 1)
    return text[start:end.start() if end else len(text)]


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Flask]]:
    """The TTP app and the Worker's command and data apps, built by their factories."""
    home = tmp_path_factory.mktemp("apps")
    config = TTPConfig.from_args(build_ttp_parser().parse_args([
        "--data_dir", str(home / "ttp"), "--outputs_dir", str(home / "ttp_out")]))
    archive = Archive(home / "database.json")
    runner = JobRunner(archive, max_workers=1)
    worker_args = build_worker_parser().parse_args([
        "--data_dir", str(home / "w"), "--outputs_dir", str(home / "w_out"), "--port", "5001"])
    worker_config = WorkerConfig.from_args(worker_args)
    services = WorkerServices.create(home / "w", home / "w_out")
    command, data = create_worker_apps(worker_config, services, TOKEN)
    try:
        yield {"ttp": create_ttp_app(config, archive, runner, token=TOKEN),
               "worker": command, "data": data}
    finally:
        runner.shutdown()
        archive.close()


@pytest.fixture(scope="module")
def rest_guide() -> str:
    return (DOCS / "rest-api.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(("app_name", "heading"), [
    ("ttp", "## TTP routes"),
    ("worker", "### Command port (`--port`, default 5000), prefix `/worker`"),
    ("data", "### Data port (`--data_port`, default 8020), prefix `/data`"),
])
def test_every_served_route_is_documented_with_its_methods(
        apps: dict[str, Flask], rest_guide: str, app_name: str, heading: str) -> None:
    served = _served(apps[app_name])
    documented = _documented(_section(rest_guide, heading))
    missing = sorted(set(served) - set(documented))
    assert not missing, f"routes of the {app_name} app missing from docs/rest-api.md: {missing}"
    wrong = {route: (sorted(documented[route]), sorted(methods))
             for route, methods in served.items() if documented[route] != methods}
    assert not wrong, f"documented vs served methods differ: {wrong}"
    stale = sorted(set(documented) - set(served))
    assert not stale, f"docs/rest-api.md lists routes the {app_name} app does not serve: {stale}"


def test_public_routes_and_swagger_ui_are_as_documented(
        apps: dict[str, Flask], rest_guide: str) -> None:
    section = _section(rest_guide, "## Authentication")
    for route in ("`GET /health`", "`GET /swagger.json`", "`GET /docs`", "`/swaggerui/`"):
        assert route in section
    for app in (apps["ttp"], apps["worker"]):
        client = app.test_client()
        for path in ("/health", "/swagger.json", "/docs"):
            assert client.get(path).status_code == 200, path  # no token needed
        assert client.get("/swaggerui/swagger-ui.css").status_code == 200
        for rule in app.url_map.iter_rules():
            if rule.rule.startswith(("/ttp/", "/worker/", "/data/")):
                path = re.sub(r"<[^>]+>", "x1", rule.rule)
                for method in rule.methods - IGNORED_METHODS:
                    assert client.open(path, method=method).status_code == 401, (method, path)
    swagger = _section(rest_guide, "## OpenAPI and Swagger UI")
    rows = re.findall(r"^\| [^|]+ \| `https?://<[a-z-]+>:(\d+)/docs` \| "
                      r"`https?://<[a-z-]+>:(\d+)/swagger.json` \|$", swagger, re.MULTILINE)
    assert sorted(rows) == [("5000", "5000")] * 3  # the data port is not a REST API


def test_the_data_port_answers_health_without_and_its_routes_only_with_the_token(
        apps: dict[str, Flask | BinaryPortApp]) -> None:
    data = apps["data"]
    assert isinstance(data, BinaryPortApp)
    health = data.admit("GET", "/health", {})
    assert isinstance(health, Admission) and data.call(health, b"").status == 200
    for route in data.routes:
        path = re.sub(r"<[^>]+>", "x1", route.template)
        refused = data.admit("POST", path, {})
        assert isinstance(refused, BinaryResponse) and refused.status == 401, path


def test_every_run_field_is_documented_with_its_default() -> None:
    guide = (DOCS / "algorithms.md").read_text(encoding="utf-8")
    table = _section(guide, "## Run fields")
    rows = {match[1]: match[2] for match in re.finditer(
        r"^\| `([A-Za-z_0-9]+)` \| ([^|]+?) \|", table, re.MULTILINE)}
    for field, default in RUN_DEFAULTS.items():
        assert field in rows, f"run field {field!r} is missing from docs/algorithms.md"
        shown = rows[field].strip()
        assert shown.startswith("`") and shown.endswith("`"), (field, shown)
        assert json.loads(shown.strip("`")) == default, (field, shown, default)
    for field in INFORMATIONAL_FIELDS:
        assert field in rows, f"compatibility field {field!r} is missing"
    assert set(rows) == set(RUN_DEFAULTS) | set(INFORMATIONAL_FIELDS), "unknown rows"


def test_algorithms_guide_covers_algorithms_components_and_search() -> None:
    guide = (DOCS / "algorithms.md").read_text(encoding="utf-8")
    headings = set(re.findall(r"^### (.+)$", guide, re.MULTILINE))
    for algorithm in SUPPORTED_ALGORITHMS:
        assert any(algorithm in heading for heading in headings), algorithm
    for name in (*AGGREGATORS, *SAMPLER_TYPES):
        assert f"`{name}`" in guide, name
    for name in (*OPTIMIZER_ALLOW_LIST, *CRITERION_ALLOW_LIST, *SCHEDULER_ALLOW_LIST):
        assert re.search(rf"\b{name}\b", guide), name
    optimisation = _section(guide, "## Hyperparameter optimisation")
    for metric in (*CLASSIFY_METRICS, *REGRESS_METRICS):
        assert f"`{metric}`" in optimisation, metric
    for field in ("search_space", "metric", "optimize_mode", "max_trial_num",
                  "trial_concurrency", "max_exec_duration", "_type", "_value"):
        assert f"`{field}`" in optimisation, field


def test_datasets_guide_covers_datatypes_files_and_options() -> None:
    guide = (DOCS / "datasets.md").read_text(encoding="utf-8")
    for name in (*DATATYPES, METADATA_FILE, SCHEMA_FILE, MAPPING_FILE, *TABULAR_OPTIONS,
                 *IMAGE_OPTIONS, *TEXT_OPTIONS):
        assert f"`{name}`" in guide or f'"{name}"' in guide, name
    assert "**no match → 404**" in guide and "**several matches → 409**" in guide


def test_readme_links_the_guides_and_the_notebook() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = _section(readme, "## Developing")
    for target in ("docs/datasets.md", "docs/rest-api.md", "docs/algorithms.md",
                   "examples/quickstart.ipynb"):
        assert f"]({target})" in section, target
        assert (ROOT / target).is_file(), target


def test_notebook_is_committed_without_outputs() -> None:
    notebook = nbformat.read(ROOT / "examples" / "quickstart.ipynb", as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
