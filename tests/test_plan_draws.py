"""The plan under uncertainty (``plan --draws``, :mod:`fab2token.plan.stochastic`): one draw equals the
deterministic plan; the stochastic plan is no cheaper than the wait-and-see bound (each draw planned knowing its
outcome) and no worse than the median plan's build facing the same draws; it hedges a demand the median plan
misses; bad options and scenarios are refused with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fab2token.errors import ModelError
from fab2token.plan import plan
from fab2token.plan.data import plan_data
from fab2token.plan.stochastic import STOCHASTIC_KEYS, plan_draws, stack_plan_data
from fab2token.scenario import load_scenario
from fab2token.scenario.draws import draw_scenario, draw_values, read_sweep_scenario

ROOT = Path(__file__).resolve().parents[1]
FAB2TOKEN = str(Path(sys.executable).parent / "fab2token")


def _example() -> dict:
    return yaml.safe_load((ROOT / "examples" / "plan-two-sites.yaml").read_text())


def _write(tmp_path: Path, data: dict) -> Path:
    p = tmp_path / "p.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


def _uncertain(tmp_path: Path) -> Path:
    """plan-two-sites.yaml with its 2027 demand and north's second grid step drawn."""
    data = _example()
    data["targets"]["inference_demand"][1]["tokens_per_s"] = {"dist": "uniform", "low": 4e7, "high": 9e7}
    data["sites"][0]["grid_power"][1]["from"] = {"dist": "uniform_month", "low": "2026-10", "high": "2027-06"}
    return _write(tmp_path, data)


def test_one_draw_of_a_one_point_range_is_the_deterministic_plan(tmp_path):
    data = _example()
    data["economics"]["electricity_usd_per_mwh"] = {"dist": "choice", "values": [70]}
    path = _write(tmp_path, data)
    res = plan_draws(str(path), 2, seed=0)
    det = plan(load_scenario(path)[0])
    assert res.status == det.status == "optimal"
    assert res.expected_cost_usd == pytest.approx(det.objective_usd, rel=1e-6)
    assert res.cost_usd_p10 == pytest.approx(res.cost_usd_p90, rel=1e-9)  # two identical draws
    assert res.regret_usd == pytest.approx(0.0, abs=1e-6 * det.objective_usd)
    assert all(r["probability_met"] == 1.0 for r in res.targets_met)
    built = {(r["site"], r["month"]): r["it_mw"] for r in res.build}
    assert sum(built.values()) == pytest.approx(sum(r["it_mw"] for r in res.deterministic["build"]), rel=1e-6)


def test_the_stochastic_plan_lies_between_wait_and_see_and_the_median_plan_facing_the_draws(tmp_path):
    path = _uncertain(tmp_path)
    draws = 4
    res = plan_draws(str(path), draws, seed=3)
    assert res.status == "optimal" and res.expected_shortfall == 0.0
    # wait-and-see: each draw planned with its outcome known is a lower bound on the expected cost of one build
    sc, text = load_scenario(path)
    ss = read_sweep_scenario(text, str(path), sc)
    values = ss.inputs.sample(draws, 3)
    own = [plan(draw_scenario(ss, draw_values(values, k), k)).objective_usd for k in range(draws)]
    assert res.expected_cost_usd >= sum(own) / draws * (1 - 1e-6)
    assert min(res.cost_usd_by_draw) >= min(own) * (1 - 1e-6)
    det = res.deterministic
    # the median plan's build is one first stage the stochastic plan could have chosen: it is no better
    assert det["expected_shortfall"] >= res.expected_shortfall
    if det["expected_shortfall"] == res.expected_shortfall:
        assert det["expected_cost_usd"] >= res.expected_cost_usd * (1 - 1e-9)


def test_what_binds_in_expectation_prices_one_more_grid_mw_in_every_draw(tmp_path):
    """The expected dual of a site's power (each draw's dual, which carries its 1/N of the expected cost, summed over
    the draws, with the build's cap at the best draw) against the finite difference: the same draws with that site's
    grid raised by half a MW in every month."""
    path = _uncertain(tmp_path)
    res = plan_draws(str(path), 4, seed=3)
    row = next(r for r in res.binding if r["constraint"] == "grid_capacity" and r["site"] == "north")
    assert row["dual"] > 0
    data = yaml.safe_load(path.read_text())
    delta = 0.5
    for step in data["sites"][0]["grid_power"]:
        step["mw"] += delta
    (tmp_path / "more").mkdir()
    more = plan_draws(str(_write(tmp_path / "more", data)), 4, seed=3)
    d = plan_data(load_scenario(path)[0])
    it_mw = delta * float(d.usable.sel(site="north")) / float(d.pue.sel(site="north"))  # IT MW at the design PUE
    saving = res.expected_cost_usd - more.expected_cost_usd
    print(f"north: saving {saving:,.0f} USD, dual x IT MW {row['dual'] * it_mw:,.0f} USD")
    assert saving == pytest.approx(row["dual"] * it_mw, rel=1e-3)  # an LP: linear while the basis holds


def test_the_stochastic_plan_hedges_a_demand_the_median_plan_misses(tmp_path):
    res = plan_draws(str(_uncertain(tmp_path)), 8, seed=1)
    mine = {r["target"]: r["probability_met"] for r in res.targets_met}
    median = {r["target"]: r["probability_met"] for r in res.deterministic["targets_met"]}
    assert mine["inference demand (every month)"] == 1.0
    assert median["inference demand (every month)"] < 1.0  # built for the median demand, short in the higher draws
    assert res.deterministic["expected_shortfall"] > 0
    assert res.regret_usd is None  # not comparable in cost: the median build falls short


def test_milp_under_uncertainty_builds_whole_halls_and_costs_no_less_than_the_lp(tmp_path):
    data = yaml.safe_load(_uncertain(tmp_path).read_text())
    data["targets"]["hall_block_mw"] = 2.0
    path = _write(tmp_path, data)
    lp = plan_draws(str(path), 4, seed=3)
    res = plan_draws(str(path), 4, seed=3, milp=True, time_limit_s=60)
    assert res.status == lp.status == "optimal" and res.expected_shortfall == lp.expected_shortfall == 0.0
    assert res.build and all(abs(r["it_mw"] / 2.0 - round(r["it_mw"] / 2.0)) < 1e-6 for r in res.build)
    assert any(abs(r["it_mw"] / 2.0 - round(r["it_mw"] / 2.0)) > 1e-3 for r in lp.build)  # the LP builds fractions
    # the blocks are one more constraint on the same programme: its relaxation is no dearer
    assert res.expected_cost_usd >= lp.expected_cost_usd * (1 - 1e-9)
    # the median plan compared with it is the deterministic MILP: its build is whole halls too
    det = res.deterministic["build"]
    assert det and all(abs(r["it_mw"] / 2.0 - round(r["it_mw"] / 2.0)) < 1e-6 for r in det)
    # in halls of 4 MW the targets cannot all be met in every draw: the least expected shortfall, not a failure
    data["targets"]["hall_block_mw"] = 4.0
    coarse = plan_draws(str(_write(tmp_path, data)), 4, seed=3, milp=True, time_limit_s=60)
    assert coarse.status == "optimal" and coarse.expected_shortfall > 0
    with pytest.raises(ModelError, match="--milp with --draws needs targets.hall_block_mw"):
        plan_draws(str(_uncertain(tmp_path)), 2, milp=True)


def test_draws_of_another_structure_cannot_share_a_plan(tmp_path):
    one = load_scenario(_write(tmp_path, _example()))[0]
    data = _example()
    data["horizon"]["months"] = 12
    other = load_scenario(_write(tmp_path, data))[0]
    with pytest.raises(ModelError, match="months"):
        stack_plan_data([plan_data(one), plan_data(other)])


def test_plan_draws_json_and_bad_options(tmp_path):
    path = _uncertain(tmp_path)
    db, report = tmp_path / "s.duckdb", tmp_path / "r.html"
    cmd = [FAB2TOKEN, "plan", str(path), "--draws", "3", "--json", "--db", str(db), "--report", str(report)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(STOCHASTIC_KEYS) <= set(out) and out["draws"] == 3 and len(out["cost_usd_by_draw"]) == 3
    _the_stored_plan_reads_back(db, out, report)
    report.unlink()
    for args, words in (
        (["--draws", "0"], "draws"),
        (["--draws", "3", "--milp"], "hall_block_mw"),
        (["--draws", "3", "--scenario-out", str(tmp_path / "out.yaml"), "--report", str(report)], "scenario-out"),
    ):
        r = subprocess.run([FAB2TOKEN, "plan", str(path), *args], capture_output=True, text=True)
        assert r.returncode == 2 and words in r.stderr, (args, r.stderr)
    assert not report.exists() and not (tmp_path / "out.yaml").exists()
    fixed = _write(tmp_path, _example())
    r = subprocess.run([FAB2TOKEN, "plan", str(fixed), "--draws", "3"], capture_output=True, text=True)
    assert r.returncode == 2 and "no distribution" in r.stderr


def _the_stored_plan_reads_back(db, out: dict, report) -> None:
    """A plan under uncertainty in the store: listed with its draws, shown, compared with itself, on the dashboard
    and in its report, each from the stored figures."""
    from fastapi.testclient import TestClient

    from fab2token.io import plan_store
    from fab2token.io.compare import compare
    from fab2token.web.app import create_app

    pid = out["plan_id"]
    listed = {p["plan_id"]: p for p in plan_store.list_plans(db)}
    assert listed[pid]["draws"] == 3 and listed[pid]["objective_usd"] == pytest.approx(out["expected_cost_usd"])
    stored = plan_store.load_plan(db, pid)["result"]
    assert plan_store.under_uncertainty(stored) and stored["cost_usd_by_draw"] == out["cost_usd_by_draw"]
    built = plan_store.load_plan_arrays(db, pid)["it_mw_built"]
    assert float(built.sum()) == pytest.approx(sum(b["it_mw"] for b in out["build"]), rel=1e-9)
    shown = subprocess.run([FAB2TOKEN, "show", pid, "--db", str(db)], capture_output=True, text=True)
    assert shown.returncode == 0 and "one build for 3 draws" in shown.stdout, shown.stderr
    listing = subprocess.run([FAB2TOKEN, "plans", "--db", str(db)], capture_output=True, text=True)
    assert "expected cost" in listing.stdout
    cmp = compare(db, pid, pid)
    assert cmp["numbers"]["cost_usd_p90"]["change"] == 0.0
    page = TestClient(create_app(db)).get(f"/plans/{pid}")
    assert page.status_code == 200 and "Plan under uncertainty" in page.text and "plotly-graph-div" in page.text
    text = report.read_text(encoding="utf-8")
    assert "Plan under uncertainty" in text and "Probability each target is met" in text
