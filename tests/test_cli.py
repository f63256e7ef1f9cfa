"""The CLI through typer's runner: JSON keys, exit codes, messages, store round trip."""

from __future__ import annotations

import copy
import json

import duckdb
from typer.testing import CliRunner

from fab2token.cli.main import app
from fab2token.engine.simulate import SUMMARY_KEYS

runner = CliRunner()


def _run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_run_json_prints_every_key_and_writes_report(small_path, tmp_path):
    db, html = tmp_path / "r.duckdb", tmp_path / "r.html"
    res = _run("run", small_path, "--db", db, "--report", html, "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert set(SUMMARY_KEYS) <= set(out)
    assert len(out["binding_constraint_by_month"]) == out["months"] == 24
    assert html.exists() and html.stat().st_size > 100_000


def test_run_then_runs_then_show_round_trip(small_path, tmp_path):
    db = tmp_path / "r.duckdb"
    first = json.loads(_run("run", small_path, "--db", db, "--no-report", "--json").stdout)
    listed = json.loads(_run("runs", "--db", db, "--json").stdout)
    assert [r["run_id"] for r in listed] == [first["run_id"]]
    shown = json.loads(_run("show", first["run_id"], "--db", db, "--json").stdout)
    for key in SUMMARY_KEYS:
        assert shown[key] == first[key], key
    human = _run("show", first["run_id"], "--db", db)
    assert human.exit_code == 0 and first["run_id"] in human.stdout


def test_validate_ok(small_path):
    res = _run("validate", small_path)
    assert res.exit_code == 0
    assert res.stdout.startswith("OK:")


def test_validate_bad_file_exits_2_with_paths(small_dict, write_yaml):
    d = copy.deepcopy(small_dict)
    d["sites"][1]["grid_power"][0]["mw"] = -30
    d["supply"]["accelerator"] = "H900"
    res = _run("validate", write_yaml(d))
    assert res.exit_code == 2
    assert "sites[1].grid_power[0].mw" in res.stderr
    assert "-30" in res.stderr
    assert "supply.accelerator" not in res.stderr or "H900" in res.stderr


def test_bad_run_leaves_store_untouched(small_path, small_dict, write_yaml, tmp_path):
    db = tmp_path / "r.duckdb"
    assert _run("run", small_path, "--db", db, "--no-report").exit_code == 0
    d = copy.deepcopy(small_dict)
    del d["economics"]
    res = _run("run", write_yaml(d), "--db", db, "--no-report")
    assert res.exit_code == 2
    assert "economics" in res.stderr and "required" in res.stderr
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM runs").fetchone() == (1,)
    con.close()


def test_model_error_exits_2(small_dict, write_yaml, tmp_path):
    d = copy.deepcopy(small_dict)
    d["supply"]["accelerator"] = "B200"  # NVIDIA publishes no die area
    res = _run("run", write_yaml(d), "--db", tmp_path / "x.duckdb", "--no-report")
    assert res.exit_code == 2
    assert "compute_die_area_mm2" in res.stderr
    assert not (tmp_path / "x.duckdb").exists()


def test_malformed_yaml_exits_2(write_yaml):
    res = _run("validate", write_yaml("sites: [\n  - name: a\n   bad"))
    assert res.exit_code == 2 and "YAML" in res.stderr


def test_catalog_accelerators_json_has_sources():
    res = _run("catalog", "accelerators", "--json")
    assert res.exit_code == 0
    rows = json.loads(res.stdout)
    assert all(r["source"] for r in rows)
    assert {r["name"] for r in rows} >= {"H100-SXM", "H200", "B200", "GB200", "MI300X", "TPU-v5p"}
    assert _run("catalog", "accelerators").exit_code == 0


def test_show_unknown_run_exits_2(tmp_path, small_path):
    db = tmp_path / "r.duckdb"
    _run("run", small_path, "--db", db, "--no-report")
    res = _run("show", "nope", "--db", db)
    assert res.exit_code == 2 and "no run" in res.stderr
