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


def test_the_stochastic_plan_hedges_a_demand_the_median_plan_misses(tmp_path):
    res = plan_draws(str(_uncertain(tmp_path)), 8, seed=1)
    mine = {r["target"]: r["probability_met"] for r in res.targets_met}
    median = {r["target"]: r["probability_met"] for r in res.deterministic["targets_met"]}
    assert mine["inference demand (every month)"] == 1.0
    assert median["inference demand (every month)"] < 1.0  # built for the median demand, short in the higher draws
    assert res.deterministic["expected_shortfall"] > 0
    assert res.regret_usd is None  # not comparable in cost: the median build falls short


def test_draws_of_another_structure_cannot_share_a_plan(tmp_path):
    one = load_scenario(_write(tmp_path, _example()))[0]
    data = _example()
    data["horizon"]["months"] = 12
    other = load_scenario(_write(tmp_path, data))[0]
    with pytest.raises(ModelError, match="months"):
        stack_plan_data([plan_data(one), plan_data(other)])


def test_plan_draws_json_and_bad_options(tmp_path):
    path = _uncertain(tmp_path)
    r = subprocess.run([FAB2TOKEN, "plan", str(path), "--draws", "3", "--json"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(STOCHASTIC_KEYS) <= set(out) and out["draws"] == 3 and len(out["cost_usd_by_draw"]) == 3
    for args, words in (
        (["--draws", "0"], "draws"),
        (["--draws", "3", "--milp"], "milp"),
        (["--draws", "3", "--report", str(tmp_path / "r.html")], "report"),
    ):
        r = subprocess.run([FAB2TOKEN, "plan", str(path), *args], capture_output=True, text=True)
        assert r.returncode == 2 and words in r.stderr, (args, r.stderr)
    assert not (tmp_path / "r.html").exists()
    fixed = _write(tmp_path, _example())
    r = subprocess.run([FAB2TOKEN, "plan", str(fixed), "--draws", "3"], capture_output=True, text=True)
    assert r.returncode == 2 and "no distribution" in r.stderr
