"""The results store (hand-written hostile cases): classes 8 and 9 of issue 12.

Class 8: a damaged or foreign ``--db`` gave a traceback; ``show %`` matched a run (the id was a LIKE pattern);
a full disk ended in "cannot rollback - no transaction is active". Class 9: of four simultaneous runs on one store
some were refused with "Could not set lock on file" and their results lost.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from fab2token.cli.main import app
from fab2token.engine.simulate import simulate, summarise
from fab2token.io import store, storefile
from fab2token.scenario import load_scenario

runner = CliRunner()
# four runs of small.yaml take ~5 s on two cores; far past that the runs have hung on the lock
CONCURRENT_BOUND_S = 60


def _run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def one_run_store(tmp_path_factory) -> Path:
    """A store holding one run of small.yaml (tests copy it before damaging it)."""
    from tests.conftest import EXAMPLES

    db = tmp_path_factory.mktemp("store") / "one.duckdb"
    res = _run("run", EXAMPLES / "small.yaml", "--db", db, "--no-report")
    assert res.exit_code == 0, res.output
    return db


def _damaged(kind: str, good: Path, dest: Path) -> Path:
    data = good.read_bytes()
    dest.write_bytes(
        {
            "empty": b"",
            "text": b"run_id,scenario\nabc,small\n",
            "truncated_header": data[:12_288],
            "truncated_half": data[: len(data) // 2],
        }[kind]
    )
    return dest


@pytest.mark.parametrize("kind", ["empty", "text", "truncated_header", "truncated_half"])
@pytest.mark.parametrize("command", ["run", "runs", "show"])
def test_store_damaged_file_is_refused_by_name_and_left_untouched(one_run_store, tmp_path, small_path, kind, command):
    db = _damaged(kind, one_run_store, tmp_path / "bad.duckdb")
    before = db.read_bytes()
    args = {
        "run": ["run", small_path, "--no-report"],
        "runs": ["runs"],
        "show": ["show", "0"],
    }[command]
    res = _run(*args, "--db", db)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert "bad.duckdb is not a fab2token results store (DuckDB)" in res.stderr
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.duckdb"]  # no .wal or other file beside it


@pytest.mark.parametrize("schema", ["CREATE TABLE sales (a INT)", "CREATE TABLE runs (a INT)"])
def test_store_foreign_duckdb_database_is_refused_and_not_written(tmp_path, small_path, schema):
    db = tmp_path / "theirs.duckdb"
    con = duckdb.connect(str(db))
    con.execute(schema)
    con.close()
    before = db.read_bytes()
    for args in (["run", small_path, "--no-report"], ["runs"], ["show", "0"]):
        res = _run(*args, "--db", db)
        assert res.exit_code == 2, res.output
        assert "theirs.duckdb is not a fab2token results store (DuckDB)" in res.stderr
    assert db.read_bytes() == before


def test_store_folder_as_db_is_refused(tmp_path, small_path):
    res = _run("run", small_path, "--db", tmp_path, "--no-report")
    assert res.exit_code == 2 and "is a folder" in res.stderr


def test_store_db_in_a_missing_folder_is_refused_before_the_run(tmp_path, small_path):
    res = _run("run", small_path, "--db", tmp_path / "nope" / "r.duckdb", "--no-report")
    assert res.exit_code == 2 and "nope" in res.stderr and "does not exist" in res.stderr


@pytest.mark.parametrize("pattern", ["%", "_", "%%", "_" * 12, "[/]"])
def test_store_show_takes_the_id_literally(one_run_store, pattern):
    res = _run("show", pattern, "--db", one_run_store)
    assert res.exit_code == 2
    assert f"no run with id {pattern!r}" in res.stderr


def test_store_show_still_finds_an_id_and_a_prefix(one_run_store):
    (rid,) = [r["run_id"] for r in store.list_runs(one_run_store)]
    for given in (rid, rid[:4]):
        res = _run("show", given, "--db", one_run_store, "--json")
        assert res.exit_code == 0 and json.loads(res.stdout)["run_id"] == rid


def test_store_show_empty_id_is_refused(one_run_store):
    res = _run("show", "", "--db", one_run_store)
    assert res.exit_code == 2 and "run id is empty" in res.stderr


@pytest.fixture(scope="module")
def small_run():
    from tests.conftest import EXAMPLES

    sc, text = load_scenario(EXAMPLES / "small.yaml")
    ds = simulate(sc)
    return ds, summarise(ds).to_dict(), text


class _FullDisk:
    """A DuckDB connection whose COMMIT fails as on a full disk, after which ROLLBACK finds no transaction."""

    def __init__(self, con):
        self._con = con

    def execute(self, sql, *args):
        if sql == "COMMIT":
            raise duckdb.IOException('IO Error: Could not write file "r.duckdb.wal": No space left on device')
        if sql == "ROLLBACK":
            raise duckdb.TransactionException("TransactionContext Error: cannot rollback - no transaction is active")
        return self._con.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._con, name)


def test_store_full_disk_names_the_write_error_not_the_rollback(tmp_path, small_run, monkeypatch):
    ds, summary, text = small_run
    db = tmp_path / "r.duckdb"
    store.save_run(db, ds, summary, text)
    real_connect = duckdb.connect
    monkeypatch.setattr(storefile.duckdb, "connect", lambda *a, **k: _FullDisk(real_connect(*a, **k)))
    with pytest.raises(store.StoreError) as info:
        store.save_run(db, ds, summary, text)
    assert "No space left on device" in str(info.value) and "r.duckdb" in str(info.value)
    assert "cannot rollback" not in str(info.value)
    monkeypatch.undo()
    assert len(store.list_runs(db)) == 1  # the store is as it was


def test_store_full_disk_in_the_cli_is_exit_2(tmp_path, small_path, monkeypatch):
    real_connect = duckdb.connect
    monkeypatch.setattr(storefile.duckdb, "connect", lambda *a, **k: _FullDisk(real_connect(*a, **k)))
    res = _run("run", small_path, "--db", tmp_path / "r.duckdb", "--no-report")
    assert res.exit_code == 2
    assert "No space left on device" in res.stderr and "cannot rollback" not in res.output


def _fab2token() -> str:
    return str(Path(sys.executable).parent / "fab2token")


def test_store_concurrent_runs_are_all_stored(tmp_path, small_path):
    db = tmp_path / "r.duckdb"
    procs = [
        subprocess.Popen(
            [_fab2token(), "run", str(small_path), "--db", str(db), "--no-report", "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    deadline = time.monotonic() + CONCURRENT_BOUND_S
    results = []
    for p in procs:
        out, err = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
        results.append((p.returncode, out, err))
    assert [rc for rc, _, _ in results] == [0, 0, 0, 0], [e for _, _, e in results]
    ids = {json.loads(out)["run_id"] for _, out, _ in results}
    assert ids == {r["run_id"] for r in store.list_runs(db)} and len(ids) == 4
    assert all("Could not set lock" not in e for _, _, e in results)


_HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
"""


def test_store_still_locked_after_the_bound_saves_the_run_beside_it(tmp_path, small_run, monkeypatch, capsys):
    ds, summary, text = small_run
    db = tmp_path / "r.duckdb"
    store.save_run(db, ds, summary, text)
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(db), "20"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        monkeypatch.setattr(storefile, "LOCK_WAIT_S", 0.3)
        with pytest.raises(store.StoreBusyError) as info:
            store.save_run(db, ds, summary, text, run_id="waited0000ab")
    finally:
        holder.kill()
        holder.wait(timeout=10)
    side = tmp_path / "r.waited0000ab.duckdb"
    message = str(info.value)
    assert "still in use" in message and "0.3 s" in message and str(side) in message
    assert "waiting up to 0.3 s" in capsys.readouterr().err  # it said it was waiting
    assert store.load_run(side, "waited0000ab")["summary"]["months"] == 24  # the finished run is not lost
    assert len(store.list_runs(db)) == 1


def test_store_busy_in_the_cli_is_exit_2_naming_the_side_store(tmp_path, small_path, monkeypatch):
    db = tmp_path / "r.duckdb"
    assert _run("run", small_path, "--db", db, "--no-report").exit_code == 0
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(db), "20"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        monkeypatch.setattr(storefile, "LOCK_WAIT_S", 0.3)
        res = _run("run", small_path, "--db", db, "--no-report")
    finally:
        holder.kill()
        holder.wait(timeout=10)
    assert res.exit_code == 2
    assert "still in use" in res.stderr and "was saved to" in res.stderr
    (side,) = [p for p in tmp_path.iterdir() if p.name.startswith("r.") and p.name != "r.duckdb"]
    assert len(store.list_runs(side)) == 1


def test_store_delete_run_removes_every_row(tmp_path, small_run):
    ds, summary, text = small_run
    db = tmp_path / "r.duckdb"
    keep = store.save_run(db, ds, summary, text)
    gone = store.save_run(db, ds, summary, text)
    store.delete_run(db, gone)
    con = duckdb.connect(str(db), read_only=True)
    try:
        for table in ("runs", *storefile._TABLES):
            ids = {r[0] for r in con.execute(f"SELECT DISTINCT run_id FROM {table}").fetchall()}
            assert gone not in ids, table
        assert con.execute("SELECT run_id FROM runs").fetchall() == [(keep,)]
    finally:
        con.close()


def test_store_scenario_given_as_db_is_refused_and_left_as_it_is(tmp_path, small_path):
    scenario = tmp_path / "s.yaml"
    scenario.write_bytes(small_path.read_bytes())
    res = _run("run", scenario, "--db", scenario, "--no-report")
    assert res.exit_code == 2
    assert "s.yaml is not a fab2token results store (DuckDB)" in res.stderr
    assert scenario.read_bytes() == small_path.read_bytes()


def test_store_store_with_deleted_runs_is_still_a_store(tmp_path, small_run):
    # DuckDB cuts free blocks off the file's end: the truncation check must not take that for damage
    ds, summary, text = small_run
    db = tmp_path / "r.duckdb"
    rid = store.save_run(db, ds, summary, text)
    size = db.stat().st_size
    store.delete_run(db, rid)
    assert db.stat().st_size < size
    assert store.list_runs(db) == []
    assert store.save_run(db, ds, summary, text)


def test_store_being_written_by_another_process_is_looked_at_again(tmp_path, monkeypatch):
    """After waiting for another process's lock, an error from a file that process was still creating or closing
    (here: one invalid-file error) is tried again within the wait, and the store opens; without a lock first, the
    same error is the file's own (refused at once)."""
    db = tmp_path / "r.duckdb"
    real_connect = duckdb.connect
    events = ["lock", "invalid"]

    def flaky(*a, **k):
        if events:
            kind = events.pop(0)
            if kind == "lock":
                raise duckdb.IOException('IO Error: Could not set lock on file "r.duckdb": Conflicting lock (PID 1)')
            raise duckdb.IOException("IO Error: The file is not a valid DuckDB database file!")
        return real_connect(*a, **k)

    monkeypatch.setattr(storefile.duckdb, "connect", flaky)
    storefile._connect(db, wait_s=5.0).close()
    assert not events
    events.append("invalid")
    t0 = time.monotonic()
    with pytest.raises(store.StoreError, match="not a valid DuckDB database file"):
        storefile._connect(tmp_path / "other.duckdb", wait_s=5.0)
    assert time.monotonic() - t0 < 1.0  # at once, not after the wait
