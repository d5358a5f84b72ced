"""Contributions: per-round Shapley values and incentive tiers of trained runs
(`.../contributions`)."""

from __future__ import annotations

from typing import Any

from synergos.http import Envelope
from synergos.resources.base import EVALUATE, CombinationJobs, path_segment


class ContributionEnvelope(dict):
    """A response envelope whose `to_frame()` gives the per-round values as a DataFrame."""

    def to_frame(self) -> Any:
        """A pandas DataFrame of φ: one row per participant (and run, when several runs are
        listed), one column per round, plus `total` and `share` (needs pandas)."""
        import pandas as pd  # the Driver itself does not depend on pandas

        records = self.get("data") or []
        records = records if isinstance(records, list) else [records]
        rows = []
        for record in records:
            key = record.get("key") or {}
            for pid, rounds in (record.get("per_round") or {}).items():
                row: dict[str | int, Any] = {"expt_id": key.get("expt_id"),
                                             "run_id": key.get("run_id"),
                                             "participant_id": pid}
                row.update({int(number): value for number, value in rounds.items()})
                row["total"] = (record.get("totals") or {}).get(pid)
                row["share"] = (record.get("shares") or {}).get(pid)
                rows.append(row)
        frame = pd.DataFrame(rows)
        if frame.empty:
            return frame
        index = (["participant_id"] if frame[["expt_id", "run_id"]].drop_duplicates().shape[0]
                 == 1 else ["expt_id", "run_id", "participant_id"])
        frame = frame.drop(columns=[c for c in ("expt_id", "run_id") if c not in index])
        return frame.set_index(index)


class Contributions(CombinationJobs):
    """Compute and read contributions of trained runs (`driver.contributions`)."""

    area = EVALUATE
    collection = "contributions"

    def create(
        self,
        project_id: str,
        expt_id: str | None = None,
        run_id: str | None = None,
        *,
        wait: bool = True,
        timeout: float | None = None,
        progress: bool = True,
        **options: Any,
    ) -> ContributionEnvelope:
        """Compute contributions of trained runs: `POST .../projects/<p>/contributions[/<e>
        [/<r>]]` (a background job, like validations; body options e.g. `metric`).

        Returns, when waiting, the envelope of `GET` on the same route, with `to_frame()`.

        Example:
            driver.contributions.create("test_project", "test_experiment", "test_run")
        """
        return ContributionEnvelope(
            self._start(project_id, expt_id, run_id, options, wait, timeout, progress))

    def read_all(self, project_id: str, expt_id: str | None = None,
                 run_id: str | None = None) -> ContributionEnvelope:
        """List Contribution records: `GET /ttp/evaluate/projects/<p>/contributions[/<e>[/<r>]]`.

        Example:
            driver.contributions.read_all("test_project").to_frame()
        """
        return ContributionEnvelope(self._get(project_id, expt_id, run_id))

    def read(self, project_id: str, expt_id: str, run_id: str) -> ContributionEnvelope:
        """Read the contribution of one run (per-round φ, totals Φ, shares, tiers).

        Example:
            frame = driver.contributions.read("test_project", "test_experiment",
                                              "test_run").to_frame()
        """
        path_segment("expt_id", expt_id)
        path_segment("run_id", run_id)
        return ContributionEnvelope(self._get(project_id, expt_id, run_id))


__all__ = ["ContributionEnvelope", "Contributions", "Envelope"]
