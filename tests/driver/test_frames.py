"""DataFrame views of results: shapes and column names, and the Driver without pandas."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from synergos.frames import ModelResults, ValidationResults
from tests.driver.test_package import REPO_ROOT

KEY = {"project_id": "p", "expt_id": "e", "run_id": "r"}


def test_validation_frame_has_a_row_per_participant() -> None:
    envelope = ValidationResults({"data": [
        {"key": {**KEY, "participant_id": name}, "evaluate": {
            "n_samples": n, "loss": 0.5, "statistics": {"accuracy_overall": 0.9,
                                                       "f_score": [0.8, 0.7]}}}
        for name, n in (("a", 10), ("b", 20))]})
    frame = envelope.to_frame()
    assert list(frame.columns) == ["project_id", "expt_id", "run_id", "participant_id",
                                   "n_samples", "loss", "accuracy_overall", "f_score_0",
                                   "f_score_1"]
    assert frame.shape == (2, 9) and frame["n_samples"].tolist() == [10, 20]
    assert envelope["data"][0]["key"]["participant_id"] == "a"  # still the envelope


def test_model_frame_has_a_row_per_round_with_local_losses() -> None:
    record = {"key": KEY, "global": {"loss_history": {"train": {"1": 0.6, "2": 0.4},
                                                      "evaluate": {"2": 0.5}}},
              "local_0": {"origin": "b", "loss_history": {"1": 0.7, "2": 0.3}},
              "local_1": {"origin": "a", "loss_history": {"1": 0.65}}}
    frame = ModelResults({"data": record}).to_frame()
    assert list(frame.columns) == ["project_id", "expt_id", "run_id", "round", "train_loss",
                                   "evaluate_loss", "local_loss_a", "local_loss_b"]
    assert frame["round"].tolist() == [1, 2] and frame["local_loss_b"].tolist() == [0.7, 0.3]
    assert frame["evaluate_loss"].isna().tolist() == [True, False]


def test_empty_results_give_the_key_columns() -> None:
    assert list(ModelResults({"data": []}).to_frame().columns)[:4] == [*KEY, "round"]


WITHOUT_PANDAS = textwrap.dedent("""
    import sys

    class Refuse:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "pandas":
                raise ImportError("No module named 'pandas'")
            return None

    sys.meta_path.insert(0, Refuse())
    import synergos
    from synergos.frames import ValidationResults
    driver = synergos.Driver(host="127.0.0.1", port=5000, token="t")
    try:
        ValidationResults({"data": []}).to_frame()
    except ImportError as error:
        print(error)
""")


def test_the_driver_works_without_pandas_and_to_frame_says_what_to_install() -> None:
    result = subprocess.run([sys.executable, "-c", WITHOUT_PANDAS], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert 'pip install "synergos[frames]"' in result.stdout
