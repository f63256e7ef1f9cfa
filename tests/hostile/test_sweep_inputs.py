"""Hostile and careless input to ``fab2token sweep`` and ``sweeps`` (issue 12's classes applied to the new command):
every bad option, store or draw ends with exit 2 and one message naming what was wrong, never a traceback, and a
store that held sweeps before holds them unchanged after."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from fab2token.cli.main import app
from fab2token.io.sweep_store import list_sweeps, load_sweep_arrays
from fab2token.scenario.models import month_number
from tests.conftest import EXAMPLES

runner = CliRunner()
UNCERTAIN = EXAMPLES / "uncertain.yaml"


def _sweep(*args: object):
    return runner.invoke(app, ["sweep", *(str(a) for a in args)])


@pytest.fixture(scope="module")
def one_sweep_store(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("sweeps") / "one.duckdb"
    res = _sweep(UNCERTAIN, "--draws", 4, "--db", db, "--json")
    assert res.exit_code == 0, res.output
    return db


def _snapshot(db: Path) -> list:
    return [(r["sweep_id"], r["draws_stored"], r["status"]) for r in list_sweeps(db)]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    option=st.sampled_from(["--draws", "--seed", "--chunk-draws", "--workers", "--outcome", "--resume", "--scheduler"]),
    value=st.one_of(
        st.integers(-(2**70), 0).map(str),
        st.sampled_from(["nan", "inf", "-1", "1e400", "", " ", "[bold]x[/]", "%", "0x10", "1.5", "tcp://", "x" * 5000]),
        st.text(max_size=30),
    ),
)
def test_a_bad_option_value_exits_2_with_a_message_and_leaves_the_store_as_it_was(
    one_sweep_store, tmp_path, option, value
):
    db = tmp_path / "s.duckdb"
    shutil.copy(one_sweep_store, db)
    before = _snapshot(db)
    res = _sweep(UNCERTAIN, option, value, "--draws" if option != "--draws" else "--seed", 2, "--db", db)
    assert res.exit_code in (0, 2), res.output
    assert "Traceback" not in res.output
    if res.exit_code == 2:
        assert res.output.strip(), "an error must say something"
        assert _snapshot(db) == before


def test_a_damaged_store_is_refused_before_anything_is_drawn(one_sweep_store, tmp_path):
    db = tmp_path / "broken.duckdb"
    data = one_sweep_store.read_bytes()
    db.write_bytes(data[: len(data) // 2])
    for args in (["sweep", UNCERTAIN, "--draws", 2, "--db", db], ["sweeps", "--db", db]):
        res = runner.invoke(app, [str(a) for a in args])
        assert res.exit_code == 2 and "not a fab2token results store" in res.output, res.output
    assert db.read_bytes() == data[: len(data) // 2]


def test_a_draw_the_scenario_checks_refuse_leaves_no_empty_sweep_behind(tmp_path):
    data = yaml.safe_load((EXAMPLES / "small.yaml").read_text())
    data["supply"]["fab"]["wafer_starts"][1]["from"] = {"dist": "choice", "values": ["2026-06", "2026-07", "2025-06"]}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    db = tmp_path / "db.duckdb"
    res = _sweep(path, "--draws", 30, "--chunk-draws", 30, "--db", db)
    assert res.exit_code == 2 and "supply.fab.wafer_starts[1].from=2025-06" in res.output
    assert list_sweeps(db) == []  # nothing was stored: the sweep's record went with it


def test_a_draw_refused_after_chunks_were_stored_keeps_them_and_marks_the_sweep_failed(tmp_path):
    data = yaml.safe_load((EXAMPLES / "small.yaml").read_text())
    # one draw in a hundred breaks the schedule: with seed 0 the first such draw comes after whole chunks
    data["supply"]["fab"]["wafer_starts"][1]["from"] = {
        "dist": "choice",
        "values": ["2026-06", "2026-07", "2025-06"],
        "weights": [50, 49, 1],
    }
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    db = tmp_path / "db.duckdb"
    res = _sweep(path, "--draws", 400, "--chunk-draws", 5, "--seed", 0, "--db", db)
    assert res.exit_code == 2 and "status failed" in res.output, res.output
    (row,) = list_sweeps(db)
    assert row["status"] == "failed" and row["draws_stored"] > 0
    kept = load_sweep_arrays(db, row["sweep_id"])["inputs"]["supply.fab.wafer_starts[1].from"]
    assert len(kept) == row["draws_stored"] and not (kept == month_number("2025-06")).any()


def test_an_unknown_outcome_is_refused_before_the_sweep_runs(tmp_path):
    db = tmp_path / "db.duckdb"
    res = _sweep(UNCERTAIN, "--draws", 2, "--outcome", "[red]nope", "--db", db)
    assert res.exit_code == 2 and "outcome (--outcome): got '[red]nope'" in res.output
    assert not db.exists() or list_sweeps(db) == []
