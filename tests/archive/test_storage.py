"""The journal file: compaction, torn tails, corruption, transactions and TinyDB tables on it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from tinydb import Query

from synarchive import (
    Archive,
    ArchiveCorruptError,
    RecordNotFound,
    RecordValidationError,
)
from syncommon.files import FileLock
from tests.archive.conftest import create, populate, sample, snapshot


def journal_lines(path: Path) -> int:
    return path.read_bytes().count(b"\n")


def churn(archive: Archive) -> None:
    """Creates, upserts, updates and cascading deletes across tables."""
    for project in ("A", "B", "C"):
        populate(archive, project, participant=f"u_{project}")
    archive.table("Run").update({"project_id": "B", "expt_id": "e1", "run_id": "r1"},
                                {"epochs": 7})
    archive.table("Project").create({"project_id": "A"}, {"action": "regress", "incentives": {}})
    archive.table("Experiment").delete({"project_id": "C", "expt_id": "e1"})
    archive.table("Participant").delete({"participant_id": "u_B"})


def test_reopen_after_compaction_equals_before(archive_path: Path) -> None:
    archive = Archive(archive_path, compact_every=0)
    churn(archive)
    before = snapshot(archive)
    assert journal_lines(archive_path) > 20
    archive.compact()
    assert journal_lines(archive_path) == 1
    assert snapshot(archive) == before
    create(archive, "Job")  # the journal keeps working after compaction
    before = snapshot(archive)
    archive.close()
    with Archive(archive_path) as reopened:
        assert snapshot(reopened) == before


def test_automatic_compaction_keeps_every_record(archive_path: Path) -> None:
    archive = Archive(archive_path, compact_every=5)
    churn(archive)
    assert journal_lines(archive_path) <= 5
    before = snapshot(archive)
    archive.close()
    with Archive(archive_path, compact_every=5) as reopened:
        assert snapshot(reopened) == before


def test_reopen_without_compaction_replays_the_journal(archive_path: Path) -> None:
    archive = Archive(archive_path, compact_every=0)
    churn(archive)
    before = snapshot(archive)
    copy = archive_path.with_name("copy.json")
    copy.write_bytes(archive_path.read_bytes())  # the journal as a crash would leave it
    archive.close()
    with Archive(copy) as replayed:
        assert snapshot(replayed) == before


def test_a_torn_last_line_is_ignored(archive_path: Path) -> None:
    archive = Archive(archive_path, compact_every=0)
    create(archive, "Project")
    archive.close()  # compacts: one snapshot line
    with archive_path.open("ab") as journal:
        journal.write(b'{"c":[["Project","2",{"key":{"project_id":"torn"}')
    with Archive(archive_path) as reopened:
        assert [p["key"] for p in reopened.table("Project").read_all()] == [{"project_id": "p1"}]
        create(reopened, "Project", project_id="after")
    with Archive(archive_path) as again:
        assert len(again.table("Project").read_all()) == 2
        assert b"torn" not in archive_path.read_bytes()


def test_a_damaged_middle_line_is_reported(archive_path: Path) -> None:
    archive = Archive(archive_path, compact_every=0)
    create(archive, "Project")
    create(archive, "Project", project_id="p2")
    lines = archive_path.read_bytes().split(b"\n")  # snapshot, 2 changes, b""
    archive.close()
    assert len(lines) == 4
    lines[1] = lines[1][:-5]
    archive_path.write_bytes(b"\n".join(lines))
    with pytest.raises(ArchiveCorruptError, match="line 2"):
        Archive(archive_path)
    lock = FileLock(archive_path)  # a failed open releases the writer lock
    lock.acquire()
    lock.release()


def test_a_foreign_file_is_not_overwritten(archive_path: Path) -> None:
    archive_path.parent.mkdir(parents=True)
    archive_path.write_text('{"_default": {"1": {"a": 1}}}', encoding="utf-8")
    with pytest.raises(ArchiveCorruptError, match="not a synarchive journal"):
        Archive(archive_path)
    assert archive_path.read_text(encoding="utf-8") == '{"_default": {"1": {"a": 1}}}'


def test_files_are_private(archive: Archive, archive_path: Path) -> None:
    create(archive, "Participant")  # holds a Worker token
    assert stat.S_IMODE(archive_path.stat().st_mode) == 0o600


def test_a_transaction_commits_one_line(archive: Archive, archive_path: Path) -> None:
    lines = journal_lines(archive_path)
    with archive.transaction():
        create(archive, "Project")
        create(archive, "Experiment")
        create(archive, "Run")
    assert journal_lines(archive_path) == lines + 1
    assert len(archive.table("Project").read({"project_id": "p1"})["relations"]["Run"]) == 1


def test_a_failed_transaction_keeps_nothing(archive: Archive, archive_path: Path) -> None:
    create(archive, "Project")
    before_bytes = archive_path.read_bytes()
    with pytest.raises(RecordValidationError), archive.transaction():
        create(archive, "Experiment")
        archive.table("Project").delete({"project_id": "p1"})
        archive.table("Run").create(sample("Run")[0], {"rounds": 0})
    assert archive_path.read_bytes() == before_bytes
    project = archive.table("Project").read({"project_id": "p1"})
    assert project is not None and project["relations"]["Experiment"] == []
    # indexes were rolled back too: the same keys can be written again
    create(archive, "Experiment")
    assert len(archive.table("Experiment").read_all({"project_id": "p1"})) == 1


def test_a_failed_step_inside_a_transaction_undoes_only_itself(archive: Archive) -> None:
    with archive.transaction():
        create(archive, "Registration")
        with pytest.raises(RecordNotFound):
            archive.table("Alignment").create(sample("Alignment")[0], {})
    assert len(archive.table("Registration").read_all()) == 1


def test_a_write_that_is_not_json_is_rolled_back_and_nothing_reaches_the_file(
        tmp_path: Path) -> None:
    """A document the journal cannot encode fails its write and leaves the table as before."""
    from synarchive.tinydb_table import JournaledTinyDB

    path = tmp_path / "journaled.json"
    database = JournaledTinyDB(path, compact_every=0)
    items = database.table("items")
    items.insert_multiple([{"n": n, "tags": ["x"]} for n in range(5)])
    items.remove(Query().n == 0)
    size = path.stat().st_size
    with pytest.raises(TypeError):  # not JSON: the in-memory state is rolled back
        items.insert({"bad": {1, 2}})
    assert path.stat().st_size == size
    expected = sorted((d["n"], d["tags"][0]) for d in items.all())
    database.close()
    reopened = JournaledTinyDB(path)
    assert sorted((d["n"], d["tags"][0]) for d in reopened.table("items").all()) == expected
    assert expected == [(1, "x"), (2, "x"), (3, "x"), (4, "x")]
    reopened.close()


def test_journaled_tables_support_tinydb_operations(tmp_path: Path) -> None:
    """The change-tracking table handles every TinyDB write and journals only changes."""
    from synarchive.tinydb_table import JournaledTinyDB

    path = tmp_path / "journaled.json"
    database = JournaledTinyDB(path, compact_every=0)
    items = database.table("items")
    items.insert_multiple([{"n": n, "tags": ["x"]} for n in range(6)])
    items.update({"tags": ["y"]}, Query().n == 2)
    items.update(lambda doc: doc["tags"].append("z"), doc_ids=[4])  # n=3; nested in-place
    items.upsert({"n": 9, "tags": []}, Query().n == 9)
    items.remove(Query().n == 0)
    database.table("scratch").insert({"a": 1})
    database.table("scratch").truncate()
    size = path.stat().st_size
    items.update({"tags": ["y"]}, Query().n == 2)  # no real change: nothing journaled
    assert path.stat().st_size == size
    expected = sorted((d["n"], d["tags"]) for d in items.all())
    copy = tmp_path / "copy.json"
    copy.write_bytes(path.read_bytes())  # replay the journal, not a compacted snapshot
    database.close()
    replayed = JournaledTinyDB(copy)
    assert sorted((d["n"], d["tags"]) for d in replayed.table("items").all()) == expected
    assert (3, ["x", "z"]) in expected and (2, ["y"]) in expected and (9, []) in expected
    assert replayed.table("scratch").all() == []
    replayed.close()
