"""Every bundled example runs: scenarios validate and simulate, the planning example plans, the fab example runs."""

from __future__ import annotations

import pytest

from fab2token.engine.simulate import simulate, summarise
from fab2token.plan import plan
from fab2token.scenario import load_scenario
from fab2token.supply.fabline import load_any, simulate_fab
from tests.conftest import EXAMPLES

SCENARIOS = ["small.yaml", "colossus-100k.yaml", "plan-two-sites.yaml", "mixed-fleet.yaml", "operations.yaml"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_example_scenarios_simulate(name):
    sc, _ = load_scenario(EXAMPLES / name)
    s = summarise(simulate(sc))
    assert s.months == sc.horizon.months and s.accelerators_delivered_total > 0


def test_planning_example_meets_its_targets():
    sc, _ = load_scenario(EXAMPLES / "plan-two-sites.yaml")
    res = plan(sc)
    assert res.status == "optimal" and res.unmet == []
    assert {b["constraint"] for b in res.binding} & {
        "packaging_capacity",
        "option_supply",
        "grid_capacity",
        "not_before_energisation",
    }


def test_mini_fab_example_runs():
    res = simulate_fab(load_any(EXAMPLES / "mini-fab.yaml"), days=20)
    s = res.summary()
    assert s["lots_completed"]["chip_lots"] > 500 and s["cycle_time_days_mean"]["chip_hot"] > 0
