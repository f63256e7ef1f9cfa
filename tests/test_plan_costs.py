"""One economics: the planner's cost breakdown equals what the simulation's billing charges for the plan's own
build-out, term by term (``fab2token.plan.simulated_bills``), and the planner prices on-site generation at its own
cost, not at the grid tariff."""

from __future__ import annotations

import pytest
import yaml

from fab2token.economics.costs import COST_TERMS
from fab2token.errors import ScenarioError
from fab2token.plan import plan, simulated_bills
from fab2token.scenario import load_scenario, parse_scenario
from tests.conftest import EXAMPLES

# Two sites, one month-by-month horizon of six months; the grid at "gas" is small, so on-site generation must run.
BASE = """
horizon: {start: 2026-03, months: 6}
supply: {accelerator: H100, wafer_starts: [{from: 2025-01, wafers_per_month: 1.0e6}], cycle_time_months: 0,
         d0_per_cm2: 0.1}
sites:
  - {name: grid, grid_power: [{from: 2026-01, mw: 15}], cooling: liquid, pue: 1.1, land_acres: 10,
     construction_start: 2025-01, construction_months: 0}
  - {name: gas, grid_power: [{from: 2026-01, mw: 5}], onsite_power: [{from: 2026-01, mw: 40}],
     onsite_usd_per_mwh: 90, cooling: air, pue: 1.3, land_acres: 10,
     construction_start: 2025-01, construction_months: 0}
economics: {accelerator_price_usd: 20000, electricity_usd_per_mwh: 60, datacenter_capex_usd_per_mw: 10.0e6,
            facility_opex_usd_per_mw_year: 200000}
workloads:
  inference: {model: llama-3-8b, precision: fp8, tp: 1}
targets:
  inference_demand: [{from: 2026-03, tokens_per_s: 1.2e8}, {from: 2026-06, tokens_per_s: 1.8e8}]
"""


def _plan_and_bills(sc):
    res = plan(sc)
    assert res.status == "optimal" and res.unmet == []
    return res, simulated_bills(sc, res)


def _assert_terms_equal(res, sim, rel=1e-3, skip=()):
    assert set(res.cost_breakdown_usd) == set(COST_TERMS) == set(sim)
    for term in COST_TERMS:
        if term in skip:
            continue
        a, b = res.cost_breakdown_usd[term], sim[term]
        assert b == pytest.approx(a, rel=rel, abs=1.0), term


def test_every_bundled_plan_example_costs_what_the_simulation_bills_term_by_term():
    # plan-two-sites: weather-dependent PUE at both sites, a time-of-use tariff, fixed opex and on-site generation
    sc, _ = load_scenario(EXAMPLES / "plan-two-sites.yaml")
    res, sim = _plan_and_bills(sc)
    _assert_terms_equal(res, sim)
    assert res.cost_breakdown_usd["electricity"] > 0 and res.cost_breakdown_usd["fixed_opex"] > 0


def test_onsite_generation_is_priced_at_its_own_cost_in_the_plan():
    # the bug this fixes: a plan whose power is partly on-site cost the same at 0 and 500 USD/MWh on-site
    costs = {}
    for usd in (0.0, 90.0, 500.0):
        data = yaml.safe_load(BASE)
        data["sites"][1]["onsite_usd_per_mwh"] = usd
        sc = parse_scenario(yaml.safe_dump(data))
        res, sim = _plan_and_bills(sc)
        costs[usd] = res.cost_breakdown_usd
        # no weather: PUE is flat, so on-site energy by hour of day is exact and the identity holds to rounding
        _assert_terms_equal(res, sim, rel=1e-6)
    assert costs[0.0]["onsite_fuel"] == pytest.approx(0.0, abs=1e-3)
    assert costs[500.0]["onsite_fuel"] > costs[90.0]["onsite_fuel"] > 0
    assert sum(costs[500.0].values()) > sum(costs[90.0].values()) > sum(costs[0.0].values())


def test_onsite_energy_under_weather_is_the_documented_approximation():
    # with hourly PUE the LP sees each hour of day's mean over the month's days; on-site generation covers the
    # excess over the grid import hour by hour, so the LP can only under-count it (Jensen): the size is README's
    data = yaml.safe_load(BASE)
    for s in data["sites"]:
        s.update(climate="us-georgia-atlanta", pue_per_degree_c=0.008, pue_reference_c=15)
    sc = parse_scenario(yaml.safe_dump(data))
    res, sim = _plan_and_bills(sc)
    _assert_terms_equal(res, sim, skip=("electricity", "onsite_fuel"))
    fuel_plan, fuel_sim = res.cost_breakdown_usd["onsite_fuel"], sim["onsite_fuel"]
    assert fuel_sim >= fuel_plan * (1 - 1e-9)
    assert fuel_sim == pytest.approx(fuel_plan, rel=0.05)
    energy_plan = res.cost_breakdown_usd["electricity"] + fuel_plan
    energy_sim = sim["electricity"] + fuel_sim
    assert energy_sim == pytest.approx(energy_plan, rel=0.01)


def test_phases_battery_and_priced_optics_are_billed_alike():
    data = yaml.safe_load(BASE)
    data["sites"][0].update(
        construction_start="2025-12",
        construction_months=3,
        phases=[
            {"name": "shell", "months": 1, "capex_usd_per_mw": 3e6},
            {"name": "fit", "months": 2, "capex_usd_per_mw": 8e6},
        ],
        battery_mw=5,
        battery_mwh=20,
        battery_capex_usd_per_kwh=300,
    )
    # optics unpriced in the catalog (no published price): a user's prices
    data["catalog"] = {
        "optics": {"400g-osfp-sr4-nic": {"price_usd": 700}, "800g-osfp-2xsr4-switch": {"price_usd": 900}}
    }
    sc = parse_scenario(yaml.safe_dump(data))
    res, sim = _plan_and_bills(sc)
    _assert_terms_equal(res, sim, rel=1e-6)
    assert res.cost_breakdown_usd["battery_capex"] == pytest.approx(20 * 1000 * 300, rel=1e-9)  # in service at once
    assert res.cost_breakdown_usd["optics_capex"] > 0


def test_the_plan_reads_the_fleet_its_orders_and_installed_base_and_bills_them_alike():
    # the same fleet inputs as the simulation: B200 market orders arrive whatever the plan decides (a fixed cost),
    # an MI300X installed base serves until it retires; the plan buys H100s from its chain only for the rest
    data = yaml.safe_load(BASE)
    data["fleet"] = [
        {"accelerator": "B200", "market": {"price_usd": 40000, "orders": [{"from": "2026-03", "per_month": 500}]}},
        {
            "accelerator": "MI300X",
            "installed": [{"site": "grid", "count": 2000, "since": "2021-08"}],
            "useful_life_years": 5,
        },
    ]
    sc = parse_scenario(yaml.safe_dump(data))
    res, sim = _plan_and_bills(sc)
    _assert_terms_equal(res, sim, rel=1e-6)
    inst = res.series["installed"].sum("site")
    assert float(inst.sel(accelerator="B200").max()) > 0
    mi = inst.sel(accelerator="MI300X").values
    assert mi[:5].max() > 0 and mi[5:].max() == pytest.approx(0, abs=1e-6)  # five years from 2021-08: gone 2026-08
    assert float(res.series["delivered"].sel(accelerator=["B200", "MI300X"]).sum()) == pytest.approx(0, abs=1e-6)
    orders = 500 * 6 * 40000  # six months of orders, undiscounted (rate 0 here)
    assert res.cost_breakdown_usd["accelerators"] >= orders - 1.0


def test_an_option_the_fleet_already_lists_is_an_input_error():
    data = yaml.safe_load(BASE)
    data["fleet"] = [
        {"accelerator": "B200", "market": {"price_usd": 1, "orders": [{"from": "2026-03", "per_month": 1}]}}
    ]
    data["targets"]["accelerator_options"] = [
        {"accelerator": "B200", "price_usd": 1, "available": [{"from": "2026-03", "per_month": 1}]}
    ]
    with pytest.raises(ScenarioError) as err:
        parse_scenario(yaml.safe_dump(data))
    assert [i.path for i in err.value.issues] == ["targets.accelerator_options[0].accelerator"]
