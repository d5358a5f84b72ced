"""Pure logic of the Director's dispatch: which records of a cluster report it writes back."""

from __future__ import annotations

from synergos_director.dispatch import own_records


def model(run_id: str, rounds: int) -> dict:
    return {"key": {"project_id": "p", "expt_id": "e", "run_id": run_id},
            "details": {"rounds_completed": rounds}}


def test_a_training_report_writes_back_only_the_models_it_trained() -> None:
    report = {"Model": [model("trained", 3), model("older", 1)],
              "Alignment": [{"key": {"project_id": "p", "participant_id": "a"}, "details": {}}]}
    params = {"project_id": "p",
              "combinations": [{"project_id": "p", "expt_id": "e", "run_id": "trained"}]}
    kept = own_records("training", params, report)
    assert [record["key"]["run_id"] for record in kept["Model"]] == ["trained"]
    assert kept["Alignment"] == report["Alignment"]


def test_other_reports_are_written_back_whole() -> None:
    report = {"Validation": [{"key": {"project_id": "p"}, "details": {}}]}
    assert own_records("validation", {"project_id": "p", "combinations": []}, report) == report


def test_progress_goes_to_the_listener_and_never_counts_as_the_report() -> None:
    import threading

    from synergos_director.dispatch import CompletionBoard

    board = CompletionBoard()
    heard = []
    board.listen("job", heard.append)
    board.post({"job_id": "job", "status": "progress",
                "progress": {"current": 2, "total": 5, "unit": "round", "message": "r2"}})
    board.post({"job_id": "other", "status": "progress", "progress": {"current": 1}})
    assert heard == [{"current": 2, "total": 5, "unit": "round", "message": "r2"}]
    board.post({"job_id": "job", "status": "succeeded", "result": {"ok": True}})
    assert board.wait("job", threading.Event())["result"] == {"ok": True}
    board.listen("job", None)
    board.post({"job_id": "job", "status": "progress", "progress": {"current": 3}})
    assert len(heard) == 1


def test_a_contribution_report_writes_back_only_its_contributions() -> None:
    contribution = {"key": {"project_id": "p", "expt_id": "e", "run_id": "trained"},
                    "details": {"tiers": {"tier_1": ["a"], "tier_2": [], "tier_3": []}}}
    stale = {**contribution, "key": {**contribution["key"], "run_id": "older"}}
    report = {"Model": [model("trained", 3)], "Contribution": [contribution, stale]}
    params = {"project_id": "p",
              "combinations": [{"project_id": "p", "expt_id": "e", "run_id": "trained"}]}
    assert own_records("contribution", params, report) == {"Contribution": [contribution]}
    kept = own_records("training", params, report)
    assert kept["Contribution"] == [contribution] and kept["Model"] == report["Model"]
