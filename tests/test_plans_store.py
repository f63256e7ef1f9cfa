"""Stored plans (issue 16, point 6): a plan round-trips through the store; `plans`, `show` and `compare` read it;
`compare` sets two runs (or a run and a plan) side by side."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from fab2token.cli import app
from fab2token.io import plan_store, store
from fab2token.io.compare import compare, scenario_diff
from fab2token.plan import plan
from fab2token.scenario import load_scenario
from tests.conftest import EXAMPLES

runner = CliRunner()
PLAN = EXAMPLES / "plan-two-sites.yaml"


@pytest.fixture(scope="module")
def solved():
    sc, text = load_scenario(PLAN)
    return sc, text, plan(sc)


def test_plan_round_trips_through_the_store(solved, tmp_path):
    sc, text, res = solved
    db = tmp_path / "p.duckdb"
    pid = plan_store.save_plan(db, res, text, sc.name, str(PLAN))
    meta = plan_store.load_plan(db, pid[:6])
    assert meta["plan_id"] == pid and meta["status"] == res.status and meta["scenario_text"] == text
    assert meta["result"]["objective_usd"] == pytest.approx(res.objective_usd, rel=1e-12)
    assert meta["result"]["schedule"]["training"][0]["run"] == res.schedule["training"][0]["run"]
    for kind, arrays in (("series", res.series), ("dual", res.duals)):
        back = plan_store.load_plan_arrays(db, pid, kind)
        assert set(back) == set(arrays)
        for name, da in arrays.items():
            assert back[name].dims == da.dims, name
            for dim in da.dims:  # coordinates in the plan's own order
                assert [str(v) for v in back[name][dim].values] == [str(v) for v in da[dim].values], (name, dim)
            np.testing.assert_allclose(back[name].values, da.values, rtol=1e-12, equal_nan=True)
    assert [p["plan_id"] for p in plan_store.list_plans(db)] == [pid]


def test_plan_tables_are_queryable(solved, tmp_path):
    import duckdb

    sc, text, res = solved
    db = tmp_path / "p.duckdb"
    pid = plan_store.save_plan(db, res, text, sc.name)
    with duckdb.connect(str(db), read_only=True) as con:
        builds = con.execute("SELECT count(*) FROM plan_build WHERE plan_id = ?", [pid]).fetchone()[0]
        sched = con.execute(
            "SELECT sum(accelerators) FROM plan_schedule WHERE plan_id = ? AND target = 'inference'", [pid]
        ).fetchone()[0]
        binding = con.execute("SELECT count(*) FROM plan_binding WHERE plan_id = ?", [pid]).fetchone()[0]
    assert builds == len(res.build)
    assert sched == pytest.approx(sum(r["accelerators"] for r in res.schedule["inference"]))
    assert binding == len(res.binding) + len(res.binding_if_short)


def test_plan_cli_stores_and_plans_show_list_it(tmp_path):
    db = tmp_path / "s.duckdb"
    res = runner.invoke(app, ["plan", str(PLAN), "--db", str(db), "--json"])
    assert res.exit_code == 0, res.output
    pid = json.loads(res.stdout)["plan_id"]
    listed = runner.invoke(app, ["plans", "--db", str(db), "--json"])
    assert [p["plan_id"] for p in json.loads(listed.stdout)] == [pid]
    shown = runner.invoke(app, ["show", pid[:8], "--db", str(db)])
    assert shown.exit_code == 0 and f"plan {pid}" in shown.stdout and "objective" in shown.stdout
    js = json.loads(runner.invoke(app, ["show", pid, "--db", str(db), "--json"]).stdout)
    assert js["plan_id"] == pid and js["status"] == "optimal"


def test_plan_cli_no_store_keeps_nothing(tmp_path):
    db = tmp_path / "s.duckdb"
    res = runner.invoke(app, ["plan", str(PLAN), "--db", str(db), "--no-store", "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["plan_id"] is None
    assert not db.exists()


def test_show_unknown_id_names_runs_and_plans_store(tmp_path):
    db = tmp_path / "s.duckdb"
    runner.invoke(app, ["plan", str(PLAN), "--db", str(db)])
    res = runner.invoke(app, ["show", "zzzz", "--db", str(db)])
    assert res.exit_code == 2 and "no run with id 'zzzz'" in res.stderr


def test_scenario_diff_lists_each_changed_field():
    a = "name: x\nsites:\n  - {name: n, mw: 10}\n  - {name: s, mw: 5}\n"
    b = "name: x\nsites:\n  - {name: n, mw: 12}\nextra: 1\n"
    diff = {d["path"]: (d["a"], d["b"]) for d in scenario_diff(a, b)}
    assert diff == {"sites[0].mw": (10, 12), "sites[1].name": ("s", None), "sites[1].mw": (5, None), "extra": (None, 1)}


def _two_runs(tmp_path, small_dict):
    db = tmp_path / "c.duckdb"
    ids = []
    for wafers in (None, 2.0):
        d = yaml.safe_load(yaml.safe_dump(small_dict))
        if wafers:
            for step in d["supply"]["fab"]["wafer_starts"]:
                step["wafers_per_month"] *= wafers
        p = tmp_path / f"s{len(ids)}.yaml"
        p.write_text(yaml.safe_dump(d, sort_keys=False))
        res = runner.invoke(app, ["run", str(p), "--db", str(db), "--no-report", "--json"])
        assert res.exit_code == 0, res.output
        ids.append(json.loads(res.stdout)["run_id"])
    return db, ids


def test_compare_two_runs_inputs_numbers_and_series(tmp_path, small_dict):
    db, (a, b) = _two_runs(tmp_path, small_dict)
    cmp = compare(db, a, b)
    paths = {d["path"] for d in cmp["inputs"]}
    assert paths and all(p.startswith("supply.fab.wafer_starts[") for p in paths)
    for d in cmp["inputs"]:
        assert d["b"] == pytest.approx(2 * d["a"])
    meta_a, meta_b = store.load_run(db, a)["summary"], store.load_run(db, b)["summary"]
    for key, v in cmp["numbers"].items():
        assert v["a"] == pytest.approx(meta_a[key]) and v["b"] == pytest.approx(meta_b[key])
        assert v["change"] == pytest.approx(meta_b[key] - meta_a[key])
    assert "accelerators_installed" in cmp["series"]


def test_compare_cli_page_and_json(tmp_path, small_dict):
    db, (a, b) = _two_runs(tmp_path, small_dict)
    page = tmp_path / "cmp.html"
    res = runner.invoke(app, ["compare", a, b, "--db", str(db), "--report", str(page)])
    assert res.exit_code == 0, res.output
    assert "inputs that differ" in res.stdout and "wafers_per_month" in res.stdout
    text = page.read_text()
    assert "Inputs that differ" in text and "accelerators_installed" in text
    js = json.loads(runner.invoke(app, ["compare", a, b, "--db", str(db), "--json"]).stdout)
    assert js["a"] == {"kind": "run", "id": a} and js["inputs_count"] == len(js["inputs"])


def test_compare_a_run_with_a_plan(tmp_path):
    db = tmp_path / "m.duckdb"
    pid = json.loads(runner.invoke(app, ["plan", str(PLAN), "--db", str(db), "--json"]).stdout)["plan_id"]
    rid = json.loads(runner.invoke(app, ["run", str(PLAN), "--db", str(db), "--no-report", "--json"]).stdout)["run_id"]
    cmp = compare(db, rid, pid)
    assert cmp["a"]["kind"] == "run" and cmp["b"]["kind"] == "plan"
    assert cmp["inputs_count"] == 0  # the same scenario file


def test_compare_unknown_id_exits_2(tmp_path, small_dict):
    db, (a, _) = _two_runs(tmp_path, small_dict)
    res = runner.invoke(app, ["compare", a, "nope", "--db", str(db)])
    assert res.exit_code == 2 and "nope" in res.stderr and "Traceback" not in res.output
