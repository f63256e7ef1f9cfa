"""Races in the results store and on the dashboard: ``race --db`` keeps the race (its file and its whole result),
``races`` lists it, ``show`` prints it, the tidy tables agree with the result, a store that is not one refuses the
race before it runs and is left as it was, and the dashboard lists the race and draws its page from the same figure
and table code as ``race --report``."""

from __future__ import annotations

import json

import duckdb
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from fab2token.cli import app
from fab2token.io.race_store import list_races, load_race
from fab2token.web import app as web
from tests.conftest import EXAMPLES

RACE = EXAMPLES / "race.yaml"
runner = CliRunner()


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    db = tmp_path_factory.mktemp("races") / "r.duckdb"
    r = runner.invoke(app, ["race", str(RACE), "--db", str(db), "--json"])
    assert r.exit_code == 0, r.output
    return db, json.loads(r.stdout)


def test_race_db_keeps_the_race_and_races_lists_it(stored):
    db, result = stored
    rid = result["race_id"]
    assert result["db"] == str(db)
    (row,) = list_races(db)
    assert row["race_id"] == rid and row["race"] == result["race"] and row["players"] == len(result["players"])
    meta = load_race(db, rid[:6])  # a unique prefix
    assert meta["race_text"] == RACE.read_text(encoding="utf-8")
    assert meta["result"]["players"] == json.loads(json.dumps(result["players"]))
    r = runner.invoke(app, ["races", "--db", str(db), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)[0]["race_id"] == rid
    r = runner.invoke(app, ["show", rid, "--db", str(db)])
    assert r.exit_code == 0 and result["race"] in r.output and "world pools" in r.output
    r = runner.invoke(app, ["show", rid, "--db", str(db), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["race_id"] == rid


def test_the_tidy_tables_agree_with_the_result(stored):
    db, result = stored
    con = duckdb.connect(str(db), read_only=True)
    try:
        for w in result["world"]:
            granted = con.execute(
                "SELECT sum(granted), count(*) FROM race_world WHERE race_id = ? AND resource = ? AND pool = ?",
                [result["race_id"], w["resource"], w["key"]],
            ).fetchone()
            assert granted[0] == pytest.approx(sum(w["granted_by_month"])) and granted[1] == len(result["month_labels"])
        for p in result["players"]:
            last = con.execute(
                "SELECT compute_flop_per_s FROM race_players WHERE race_id = ? AND player = ? ORDER BY month DESC "
                "LIMIT 1",
                [result["race_id"], p["name"]],
            ).fetchone()[0]
            assert last == pytest.approx(p["compute_flop_per_s_end"])
    finally:
        con.close()


def test_a_bad_store_refuses_the_race_and_is_left_alone(tmp_path):
    bad = tmp_path / "not-a-store.duckdb"
    bad.write_bytes(b"this is not a DuckDB file")
    r = runner.invoke(app, ["race", str(RACE), "--db", str(bad)])
    assert r.exit_code == 2 and "not-a-store.duckdb" in r.output
    assert bad.read_bytes() == b"this is not a DuckDB file"
    r = runner.invoke(app, ["show", "nosuchid", "--db", str(tmp_path / "empty.duckdb")])
    assert r.exit_code == 2


def test_the_dashboard_lists_the_race_and_shows_its_page(stored):
    db, result = stored
    client = TestClient(web.create_app(db))
    index = client.get("/?kind=race")
    assert index.status_code == 200 and f"/races/{result['race_id']}" in index.text
    page = client.get(f"/races/{result['race_id']}")
    assert page.status_code == 200
    assert "plotly-graph-div" in page.text and "Counterfactuals" in page.text and "Race file" in page.text
    for p in result["players"]:
        assert p["name"] in page.text
    missing = client.get("/races/000000000000")
    assert missing.status_code == 404 and "no race with id" in missing.text
