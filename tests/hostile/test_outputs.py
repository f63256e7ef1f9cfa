"""Output files (hand-written hostile cases): class 1 of issue 12.

A run was stored and then the command crashed when its report could not be written; ``--report s.yaml`` overwrote
the scenario. Now every output is checked before any work, written to a temporary file beside it and moved into
place, and a report that fails after the run was stored takes the run back out of the store.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from fab2token.cli.main import app
from fab2token.errors import OutputError
from fab2token.io import store
from fab2token.io.outputs import check_output, check_outputs, write_outputs
from tests.conftest import EXAMPLES

runner = CliRunner()


def _run(*args):
    return runner.invoke(app, [str(a) for a in args])


def _run_ids(db: Path) -> list[str]:
    return [r["run_id"] for r in store.list_runs(db)] if db.exists() else []


@pytest.fixture
def scenario(tmp_path, small_path) -> Path:
    p = tmp_path / "s.yaml"
    shutil.copy(small_path, p)
    return p


def _refused(res, *words):
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    for w in words:
        assert w in res.stderr, (w, res.stderr)


def test_outputs_report_in_a_missing_folder_is_refused_before_the_run(scenario, tmp_path):
    db = tmp_path / "r.duckdb"
    res = _run("run", scenario, "--db", db, "--report", tmp_path / "nope" / "r.html")
    _refused(res, "--report", "nope", "does not exist")
    assert not db.exists()  # refused before anything was simulated or stored


def test_outputs_report_over_the_scenario_is_refused(scenario, tmp_path):
    before = scenario.read_bytes()
    db = tmp_path / "r.duckdb"
    res = _run("run", scenario, "--db", db, "--report", scenario)
    _refused(res, "--report", "s.yaml", "input")
    assert scenario.read_bytes() == before and not db.exists()


def test_outputs_report_over_the_scenario_by_another_spelling_is_refused(scenario, tmp_path):
    link = tmp_path / "link.html"
    link.symlink_to(scenario)
    before = scenario.read_bytes()
    for other in (tmp_path / "sub" / ".." / "s.yaml", link):
        (tmp_path / "sub").mkdir(exist_ok=True)
        res = _run("run", scenario, "--db", tmp_path / "r.duckdb", "--report", other)
        _refused(res, "--report", "input")
    assert scenario.read_bytes() == before


def test_outputs_report_over_the_store_is_refused(scenario, tmp_path):
    db = tmp_path / "r.duckdb"
    assert _run("run", scenario, "--db", db, "--no-report").exit_code == 0
    before = db.read_bytes()
    res = _run("run", scenario, "--db", db, "--report", db)
    _refused(res, "--report", "r.duckdb", "input")
    assert db.read_bytes() == before and len(_run_ids(db)) == 1


def test_outputs_report_over_a_weather_file_the_scenario_reads_is_refused(tmp_path, small_dict):
    weather = tmp_path / "w.csv"
    weather.write_text("dry_bulb_c\n" + "\n".join(f"{v:.3f}" for v in 15 + 8 * np.sin(np.arange(8760) / 500)))
    data = yaml.safe_load(yaml.safe_dump(small_dict))
    data["sites"][0].pop("climate")
    data["sites"][0]["weather_csv"] = "w.csv"
    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump(data, sort_keys=False))
    before = weather.read_bytes()
    db = tmp_path / "r.duckdb"
    res = _run("run", scenario, "--db", db, "--report", weather)
    _refused(res, "--report", "w.csv", "input", "not kept")
    assert weather.read_bytes() == before
    assert _run_ids(db) == []  # the run was taken out of the store again


def test_outputs_report_over_a_fab_line_result_relative_to_the_scenario_is_refused(tmp_path, small_dict, monkeypatch):
    """The fab line result is named relative to the scenario's folder; run from elsewhere, it is still an input."""
    (tmp_path / "in").mkdir()
    result = tmp_path / "in" / "fl.json"
    result.write_text(
        json.dumps({"days": 365.25, "cycle_time_days_mean": {"Lot_3": 61.0}, "lots_completed": {"Lot_3": 240}})
    )
    data = yaml.safe_load(yaml.safe_dump(small_dict))
    data["supply"]["fab"].update(fabline_result="fl.json", fabline_order="Lot_3")
    scenario = tmp_path / "in" / "s.yaml"
    scenario.write_text(yaml.safe_dump(data, sort_keys=False))
    before = result.read_bytes()
    monkeypatch.chdir(tmp_path)  # fl.json is not in the working folder
    res = _run("run", scenario, "--db", tmp_path / "r.duckdb", "--report", result)
    _refused(res, "--report", "fl.json", "input")
    assert result.read_bytes() == before


@pytest.mark.parametrize("kind", ["folder", "parent_is_file", "device"])
def test_outputs_report_that_is_not_a_writable_file_is_refused(scenario, tmp_path, kind):
    target = {
        "folder": tmp_path,
        "parent_is_file": scenario / "r.html",
        "device": Path(os.devnull),
    }[kind]
    db = tmp_path / "r.duckdb"
    res = _run("run", scenario, "--db", db, "--report", target)
    _refused(res, "--report", str(target))
    assert not db.exists()
    assert Path(os.devnull).exists() and not Path(os.devnull).is_file()  # /dev/null was not replaced


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only folders")
def test_outputs_report_in_a_read_only_folder_is_refused(scenario, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        res = _run("run", scenario, "--db", tmp_path / "r.duckdb", "--report", ro / "r.html")
    finally:
        ro.chmod(0o755)
    _refused(res, "--report", "cannot write")


def test_outputs_unwritable_folder_is_refused_before_the_run(scenario, tmp_path, monkeypatch):
    import fab2token.io.outputs as outputs

    real_mkstemp = outputs.tempfile.mkstemp
    locked = tmp_path / "locked"
    locked.mkdir()

    def denied(*a, dir=None, **k):  # what a read-only folder does to a non-root user
        if Path(dir) == locked:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_mkstemp(*a, dir=dir, **k)

    monkeypatch.setattr(outputs.tempfile, "mkstemp", denied)
    db = tmp_path / "r.duckdb"
    res = _run("run", scenario, "--db", db, "--report", locked / "r.html")
    _refused(res, "--report", "r.html", "Permission denied")
    assert not db.exists()


def test_outputs_default_report_folder_is_checked_too(scenario, tmp_path, monkeypatch):
    import fab2token.io.outputs as outputs

    def probe(folder, option, path):
        if option != "--db":
            raise OutputError(f"{option} {path}: cannot write in the folder {folder} (Permission denied)")

    monkeypatch.setattr(outputs, "_probe_writable", probe)
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    db = tmp_path / "r.duckdb"
    res = _run("run", scenario, "--db", db)
    _refused(res, "report-RUNID.html", "--no-report", "Permission denied")
    assert not db.exists()


def test_outputs_report_that_fails_after_the_store_takes_the_run_back(scenario, tmp_path, monkeypatch):
    import fab2token.io.report as report

    db, html = tmp_path / "r.duckdb", tmp_path / "r.html"
    assert _run("run", scenario, "--db", db, "--report", html).exit_code == 0
    old_report, old_ids = html.read_bytes(), _run_ids(db)

    def disk_full(path, *_a, **_k):
        Path(path).write_text("half a page")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(report, "write_report", disk_full)
    res = _run("run", scenario, "--db", db, "--report", html)
    _refused(res, "--report", "r.html", "No space left on device", "not kept")
    assert _run_ids(db) == old_ids  # no stored run without its report
    assert html.read_bytes() == old_report  # the old report is as it was
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.duckdb", "r.html", "s.yaml"]  # no temporary left


def test_outputs_report_bug_after_the_store_takes_the_run_back(scenario, tmp_path, monkeypatch):
    import fab2token.io.report as report

    def bug(*_a, **_k):
        raise KeyError("capex")

    monkeypatch.setattr(report, "write_report", bug)
    monkeypatch.setenv("FAB2TOKEN_LOG_DIR", str(tmp_path))
    db = tmp_path / "r.duckdb"
    res = _run("run", scenario, "--db", db, "--report", tmp_path / "r.html")
    assert res.exit_code == 1 and "KeyError" in res.stderr
    assert _run_ids(db) == [] and not (tmp_path / "r.html").exists()


def test_outputs_report_is_written_whole_with_the_run(scenario, tmp_path):
    db, html = tmp_path / "r.duckdb", tmp_path / "r.html"
    res = _run("run", scenario, "--db", db, "--report", html, "--json")
    assert res.exit_code == 0
    assert json.loads(res.stdout)["report"] == str(html)
    assert html.read_text().rstrip().endswith("</html>")
    assert html.stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_outputs_plan_scenario_out_over_its_scenario_is_refused(tmp_path):
    scenario = tmp_path / "p.yaml"
    shutil.copy(EXAMPLES / "plan-two-sites.yaml", scenario)
    before = scenario.read_bytes()
    res = _run("plan", scenario, "--scenario-out", scenario)
    _refused(res, "--scenario-out", "p.yaml", "input")
    assert scenario.read_bytes() == before


def test_outputs_plan_two_outputs_to_one_file_are_refused(tmp_path):
    out = tmp_path / "same.html"
    res = _run("plan", EXAMPLES / "plan-two-sites.yaml", "--report", out, "--scenario-out", out)
    _refused(res, "--scenario-out", "--report", "same.html")
    assert not out.exists()


def test_outputs_plan_report_in_a_missing_folder_is_refused(tmp_path):
    res = _run("plan", EXAMPLES / "plan-two-sites.yaml", "--report", tmp_path / "nope" / "p.html")
    _refused(res, "--report", "does not exist")


def test_outputs_fabline_report_in_a_missing_folder_is_refused(tmp_path):
    res = _run("fabline", EXAMPLES / "mini-fab.yaml", "--days", "5", "--report", tmp_path / "nope" / "f.html")
    _refused(res, "--report", "does not exist")


def test_outputs_fabline_report_over_its_fab_file_is_refused(tmp_path):
    fab = tmp_path / "fab.yaml"
    shutil.copy(EXAMPLES / "mini-fab.yaml", fab)
    before = fab.read_bytes()
    res = _run("fabline", fab, "--days", "5", "--report", fab)
    _refused(res, "--report", "fab.yaml", "input")
    assert fab.read_bytes() == before


def test_outputs_fabline_report_over_a_file_in_its_fab_folder_is_refused(tmp_path):
    folder = tmp_path / "fab"
    folder.mkdir()
    (folder / "order.txt").write_text("not read: the report is refused first\n")
    with pytest.raises(OutputError, match="input folder"):
        check_outputs([(folder / "order.txt", "--report")], [folder])


def test_outputs_empty_path_is_refused():
    with pytest.raises(OutputError, match="empty path"):
        check_output("", "--report")


def test_outputs_write_outputs_moves_nothing_until_all_are_written(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("old a")

    def fail(_tmp):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OutputError, match="--second .*b.txt.*No space left"):
        write_outputs([(a, "--first", lambda t: t.write_text("new a")), (b, "--second", fail)])
    assert a.read_text() == "old a" and not b.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
    write_outputs([(a, "--first", lambda t: t.write_text("new a")), (b, "--second", lambda t: t.write_text("b"))])
    assert a.read_text() == "new a" and b.read_text() == "b"


def test_the_api_refuses_a_report_path_that_is_the_scenario_and_keeps_no_run(tmp_path):
    # the Python API makes the same checks as the CLI (no check lives only in the CLI)
    import shutil

    from fab2token.api import run_file
    from fab2token.errors import Fab2TokenError
    from fab2token.io import store
    from tests.conftest import EXAMPLES

    sc = tmp_path / "s.yaml"
    shutil.copy(EXAMPLES / "small.yaml", sc)
    db = tmp_path / "r.duckdb"
    with pytest.raises(Fab2TokenError, match="input"):
        run_file(sc, db, report_path=sc)
    assert sc.read_text() == (EXAMPLES / "small.yaml").read_text()
    assert not db.exists() or store.list_runs(db) == []
    with pytest.raises(Fab2TokenError, match="does not exist"):
        run_file(sc, db, report_path=tmp_path / "nope" / "r.html")
    assert not db.exists() or store.list_runs(db) == []
    res = run_file(sc, db, report_path=tmp_path / "r.html")
    assert res.report_path is not None and (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
