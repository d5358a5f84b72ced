"""`examples/quickstart.ipynb` runs top to bottom in a fresh kernel of this virtual environment
and shows what it promises: a training-curve figure, one validation row per participant with
a sensible accuracy, predictions written on the Worker, and every process stopped."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ipykernel.kernelspec
import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "quickstart.ipynb"
KERNEL_NAME = "python3"
CELL_TIMEOUT = 300  # seconds per cell; the whole notebook takes ~30 s on 2 cores
PROBE = "import sys\nprint('KERNEL_PREFIX=' + sys.prefix)"
PARTICIPANTS = ("party_1", "party_2")
NODE_PID = re.compile(r"^(ttp|party_\d)\s+pid (\d+)", re.MULTILINE)


def _text(cell: dict[str, Any]) -> str:
    """Everything a code cell printed or returned as text (stdout, stderr, text/plain)."""
    parts = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            parts.append(output["text"])
        elif output["output_type"] in ("execute_result", "display_data"):
            parts.append(output["data"].get("text/plain", ""))
        elif output["output_type"] == "error":
            parts.append("\n".join(output["traceback"]))
    return "".join(parts)


def _cell_containing(notebook: nbformat.NotebookNode, source_fragment: str) -> dict[str, Any]:
    matches = [cell for cell in notebook.cells
               if cell.cell_type == "code" and source_fragment in cell.source]
    assert len(matches) == 1, f"expected one code cell containing {source_fragment!r}"
    return matches[0]


def _kill_leftovers(notebook: nbformat.NotebookNode) -> list[int]:
    """SIGKILL the process group of any node the notebook started that is still alive (the
    notebook's own safety nets should have stopped them); returns the pids it had to kill."""
    killed = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for _name, pid in NODE_PID.findall(_text(cell)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(int(pid), 0)
                os.killpg(int(pid), signal.SIGKILL)
                killed.append(int(pid))
    return killed


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The notebook after running it with cwd in a temporary folder (a probe cell first
    records the kernel's `sys.prefix`); also its run time and any leftover process."""
    work = tmp_path_factory.mktemp("quickstart")
    kernels = work / "kernels"
    # A kernelspec pointing at this interpreter (the venv's), found first through JUPYTER_PATH.
    ipykernel.kernelspec.install(kernel_name=KERNEL_NAME, prefix=str(kernels))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(PROBE))
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name=KERNEL_NAME,
                            resources={"metadata": {"path": str(work)}})
    started = time.monotonic()
    error: CellExecutionError | None = None
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", str(kernels / "share" / "jupyter"))
        patch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        try:
            client.execute()
        except CellExecutionError as raised:
            error = raised
        finally:
            leftovers = _kill_leftovers(notebook)
    result = {"notebook": notebook, "seconds": time.monotonic() - started,
              "leftovers": leftovers, "work": work}
    if error is not None:
        pytest.fail(f"a notebook cell failed:\n{error}")
    yield result


def test_notebook_runs_in_the_venv_kernel_without_leaving_processes(
        executed: dict[str, Any]) -> None:
    notebook = executed["notebook"]
    assert f"KERNEL_PREFIX={sys.prefix}" in _text(notebook.cells[0])
    assert executed["leftovers"] == [], "the notebook left node processes running"
    stop = _text(_cell_containing(notebook, "processes.stop_all()\nget_ipython()"))
    codes = re.findall(r"^(\S+)\s+exit code (\S+)$", stop, re.MULTILINE)
    assert {name for name, _ in codes} == {"ttp", *PARTICIPANTS}
    assert all(code != "None" for _, code in codes), stop
    print(f"quickstart notebook ran in {executed['seconds']:.1f} s")


def test_training_curves_are_plotted(executed: dict[str, Any]) -> None:
    cell = _cell_containing(executed["notebook"], "plt.subplots")
    images = [output for output in cell.outputs if output["output_type"] == "display_data"
              and "image/png" in output["data"]]
    assert len(images) == 1
    assert len(images[0]["data"]["image/png"]) > 1000  # a real (base64) PNG, not a stub


def test_validation_table_has_one_row_per_participant(executed: dict[str, Any]) -> None:
    cell = _cell_containing(executed["notebook"], "validation_table = ")
    match = re.search(r"final validation accuracy \(sample-weighted\): ([0-9.]+)", _text(cell))
    assert match, _text(cell)
    assert float(match.group(1)) >= 0.85  # logistic regression on breast_cancer
    table = [output for output in cell.outputs if output["output_type"] == "execute_result"]
    assert len(table) == 1
    html = table[0]["data"]["text/html"]
    assert sorted(re.findall(r"<th>(party_\d)</th>", html)) == list(PARTICIPANTS)


def test_alignment_training_and_prediction_outputs(executed: dict[str, Any]) -> None:
    notebook = executed["notebook"]
    aligned = _text(_cell_containing(notebook, "driver.alignments.create"))
    assert "party_2: spacers [" in aligned and "worst_symmetry" in aligned
    assert "input layer after auto_fix: {'bias': True, 'in_features': 33" in aligned
    trained = _text(_cell_containing(notebook, "driver.models.create"))
    assert re.search(r"FedProx: 8 rounds", trained), trained
    predicted = _text(_cell_containing(notebook, "driver.predictions.create"))
    match = re.search(r"(\d+) rows predicted", predicted)
    assert match and int(match.group(1)) > 0, predicted
    written = executed["work"] / "quickstart_run" / "party_1" / "outputs"
    assert list(written.rglob("predictions_predict.csv")), "predictions not on the Worker"
