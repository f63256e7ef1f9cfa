"""The planner: hand-solvable optima and duals, infeasible targets, MILP blocks, and the simulate-the-plan round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from fab2token import catalog
from fab2token.cli.main import app
from fab2token.engine.simulate import simulate, summarise
from fab2token.errors import ModelError
from fab2token.plan import PLAN_KEYS, plan, plan_to_scenario_data
from fab2token.scenario import parse_scenario
from fab2token.workloads.inference import infer

# One month, two sites energised from the start, plenty of wafers, demand for inference only.
TWO_SITES = """
horizon: {start: 2026-03, months: 1}
supply: {accelerator: H100, wafer_starts: [{from: 2025-01, wafers_per_month: 1.0e6}], cycle_time_months: 0,
         d0_per_cm2: 0.1}
sites:
  - {name: cheap, grid_power: [{from: 2026-01, mw: CHEAP_MW}], cooling: liquid, pue: 1.1, land_acres: 10,
     construction_start: 2025-01, construction_months: 0}
  - {name: dear, grid_power: [{from: 2026-01, mw: 1000}], cooling: air, pue: 1.5, land_acres: 10,
     construction_start: 2025-01, construction_months: 0}
economics: {accelerator_price_usd: 20000, electricity_usd_per_mwh: 100, datacenter_capex_usd_per_mw: 10.0e6}
workloads:
  inference: {model: llama-3-8b, precision: fp8, tp: 1}
targets:
  inference_demand: [{from: 2026-03, tokens_per_s: DEMAND}]
"""


USABLE = catalog.overhead("usable_power_frac")  # share of connected power the facility load may use


def _sc(cheap_mw: float = 11.0, demand: float = 2.0e8):
    return parse_scenario(TWO_SITES.replace("CHEAP_MW", str(cheap_mw)).replace("DEMAND", str(demand)))


def _rate() -> float:
    return infer("llama-3-8b", "H100", 1, tp=1, precision="fp8").tokens_per_s_per_accelerator


def test_hand_solvable_optimum_and_power_dual():
    sc = _sc()
    res = plan(sc)
    assert res.status == "optimal" and res.unmet == []
    kw = 1.275 * 1.089  # all-in IT kW per H100 (catalog), see test_deploy
    n = 2.0e8 / _rate()  # accelerators needed
    it_mw = n * kw / 1000.0
    cheap_it = 11.0 * USABLE / 1.1  # the gear's usable share of the connection
    hours = 744.0  # March
    energy = (cheap_it * 1.1 + (it_mw - cheap_it) * 1.5) * hours * 100.0
    expected = n * 20000 + it_mw * 10.0e6 + energy
    assert res.objective_usd == pytest.approx(expected, rel=1e-6)
    # the cheap site is full; one more IT MW there saves the PUE difference in energy: (1.5 - 1.1) x 744 h x $100
    row = next(b for b in res.binding if b["constraint"] == "grid_capacity" and b["site"] == "cheap")
    assert row["dual"] == pytest.approx(0.4 * hours * 100.0, rel=1e-6)
    assert "per grid MW" in row["text"]


def test_infeasible_target_reports_what_fails_and_by_how_much():
    sc = _sc(demand=1e12)
    res = plan(sc)
    (row,) = res.unmet
    capacity = (11.0 / 1.1 + 1000 / 1.5) * USABLE * 1000 / (1.275 * 1.089) * _rate()
    assert row["target"] == "inference 2026-03"
    assert row["shortfall"] == pytest.approx(1e12 - capacity, rel=1e-6)


def test_a_short_target_values_each_limit_in_the_targets_unit_by_finite_differences():
    # demand far above what both sites can serve: one more grid MW at the cheap site serves its usable share / PUE
    # more IT MW of accelerators; the first phase's dual says how much less is short, in million tokens/s-months
    res = plan(_sc(demand=1e12))
    assert res.status == "optimal" and res.exit_code == 0
    row = next(b for b in res.binding_if_short if b["constraint"] == "grid_capacity" and b["site"] == "cheap")
    assert row["unit"] == "million tokens/s-months per IT MW"
    per_it_mw = 1000 / (1.275 * 1.089) * _rate() / 1e6  # million tokens/s one IT MW of H100s serves
    assert row["value"] == pytest.approx(per_it_mw, rel=1e-6)
    # finite difference: 1 more connected MW at the cheap site is USABLE / PUE more IT MW
    more = plan(_sc(cheap_mw=12.0, demand=1e12))
    cut = (res.unmet[0]["shortfall"] - more.unmet[0]["shortfall"]) / 1e6
    assert cut == pytest.approx(row["value"] * USABLE / 1.1, rel=1e-4)
    assert all("$" not in b["text"] for b in res.binding_if_short)  # no penalty constant in sight
    assert res.objective_usd < 1e12  # the cost of the plan that serves what it can, not a penalty


def test_a_short_target_prices_each_limit_at_the_stated_value_of_the_target():
    from fab2token.plan.model import SECONDS_PER_MONTH

    text = TWO_SITES.replace("CHEAP_MW", "11.0").replace("DEMAND", "1e12")
    priced = plan(parse_scenario(text + "  value_usd_per_million_tokens: 2.0\n"))
    plain = plan(_sc(demand=1e12))
    assert all(b["value_usd"] is None for b in plain.binding_if_short)  # no stated value: no dollars
    for row, ref in zip(priced.binding_if_short, plain.binding_if_short, strict=True):
        # one million tokens/s for a month is SECONDS_PER_MONTH million tokens, each worth $2
        assert row["value"] == pytest.approx(ref["value"], rel=1e-9)
        assert row["value_usd"] == pytest.approx(ref["value"] * 2.0 * SECONDS_PER_MONTH, rel=1e-9)
        assert "at the targets' stated value" in row["text"]
    assert priced.objective_usd == pytest.approx(plain.objective_usd, rel=1e-9)  # a price, not a penalty


def test_the_schedule_says_who_serves_inference_and_when_training_runs(tmp_path):
    from tests.conftest import EXAMPLES

    res = plan(parse_scenario((EXAMPLES / "plan-two-sites.yaml").read_text()))
    (run,) = res.schedule["training"]
    assert run["run"] == "frontier" and run["done_frac"] == pytest.approx(1.0)
    assert "2026-09" <= run["start"] <= run["finish"] <= "2027-06"  # within its window
    months = {a["month"] for a in run["allocation"]}
    assert run["start"] in months and run["finish"] in months
    assert {a["accelerator"] for a in run["allocation"]} <= {"H100-SXM", "B200"}
    served = sum(r["accelerators"] for r in res.schedule["inference"] if r["month"] == "2027-03")
    n = res.series["inference"].sel(month="2027-03").sum()
    assert served == pytest.approx(float(n), rel=1e-9) and served > 0


def test_plan_statuses_name_what_happened_and_never_print_a_plan():
    from tests.conftest import EXAMPLES

    sc = parse_scenario((EXAMPLES / "plan-two-sites.yaml").read_text())
    res = plan(sc, time_limit_s=1e-9)
    assert res.status == "time_limit" and res.exit_code == 3 and res.build == [] and "time limit" in res.status_text
    data = yaml.safe_load((EXAMPLES / "plan-two-sites.yaml").read_text())
    data["targets"]["budget_usd"] = 1.0e6  # below what the fleet's market orders already cost: no plan fits
    data["fleet"] = [
        {"accelerator": "H200", "market": {"price_usd": 30000, "orders": [{"from": "2026-01", "per_month": 100}]}}
    ]
    res = plan(parse_scenario(yaml.safe_dump(data)), objective="max-compute")
    assert res.status == "infeasible" and res.exit_code == 2 and res.build == [] and "contradict" in res.status_text
    with pytest.raises(Exception, match="time limit"):
        plan(sc, time_limit_s=float("nan"))


@settings(max_examples=8, deadline=None)
@given(extra=st.floats(min_value=0.0, max_value=30.0))
def test_relaxing_a_binding_constraint_never_raises_cost(extra):
    base = plan(_sc(11.0)).objective_usd
    relaxed = plan(_sc(11.0 + extra)).objective_usd
    assert relaxed <= base * (1 + 1e-9)


def test_milp_builds_whole_halls():
    data = yaml.safe_load(TWO_SITES.replace("CHEAP_MW", "11").replace("DEMAND", "2.0e8"))
    data["targets"]["hall_block_mw"] = 4.0
    res = plan(parse_scenario(yaml.safe_dump(data)), milp=True, time_limit_s=30)
    built = [r["amount"] for r in res.build if r["kind"] == "it_capacity"]
    assert built and all(abs(b / 4.0 - round(b / 4.0)) < 1e-6 for b in built)
    assert res.mip_gap is None or res.mip_gap <= 1e-3


# One site, the own chain only, two training runs whose windows overlap: the LP interleaves them month by month
TWO_RUNS = """
horizon: {start: 2026-01, months: 12}
supply: {accelerator: H100, wafer_starts: [{from: 2025-10, wafers_per_month: 60}], d0_per_cm2: 0.1}
sites:
  - {name: a, grid_power: [{from: 2026-01, mw: 40}], cooling: liquid, pue: 1.2, land_acres: 50,
     construction_start: 2025-06, construction_months: 6}
economics: {accelerator_price_usd: 25000, electricity_usd_per_mwh: 80, datacenter_capex_usd_per_mw: 11.0e6}
targets:
  training:
    - {name: pre, model: llama-3-8b, tokens: 3.0e12, start: 2026-02, deadline: 2026-11, mfu: 0.4}
    - {name: post, model: llama-3-8b, tokens: 1.0e12, start: 2026-03, deadline: 2026-12, mfu: 0.4}
"""


def _run_months(res, run):
    """A run's accelerators per month (all types and sites) and the types it uses."""
    u = res.series["training"].fillna(0.0).sel(run=run)
    per_month = u.sum(["accelerator", "site"]).values
    types = {str(a) for a in u["accelerator"].values if float(u.sel(accelerator=a).sum()) > 1e-6}
    return per_month, types


def _as_the_simulator_runs(per_month, types):
    """One accelerator type, the same whole count every month, one unbroken stretch of months."""
    on = np.flatnonzero(per_month > 1e-6)
    contiguous = on.size > 0 and np.array_equal(on, np.arange(on[0], on[-1] + 1))
    whole = contiguous and np.allclose(per_month[on], round(float(per_month[on[0]])), atol=1e-6)
    return len(types) == 1 and whole


def test_milp_lays_out_each_training_run_as_the_simulator_runs_it():
    sc = parse_scenario(TWO_RUNS)
    lp, milp = plan(sc), plan(sc, milp=True, time_limit_s=60)
    assert lp.status == milp.status == "optimal" and lp.unmet == milp.unmet == []
    # the LP's fungible accelerator-months: some run's count changes from month to month, or it pauses
    assert not all(_as_the_simulator_runs(*_run_months(lp, r)) for r in ("pre", "post"))
    assert milp.objective_usd >= lp.objective_usd * (1 - 1e-9)  # the MILP only restricts the LP
    for r in ("pre", "post"):
        x, types = _run_months(milp, r)
        assert _as_the_simulator_runs(x, types)
        assert float(milp.series["run_accelerators"].sel(run=r)) == pytest.approx(x.max(), abs=1e-6)
    # the round trip: the simulator runs each as planned, from the plan's first month, on its count, done by the
    # plan's last month (the plan counts goodput at the target's reference size, so the simulation may finish sooner)
    ds = simulate(parse_scenario(yaml.safe_dump(plan_to_scenario_data(sc, milp))))
    sim = {r["name"]: r for r in summarise(ds).training_runs}
    for planned in milp.schedule["training"]:
        run = sim[planned["run"]]
        assert run["status"] == "scheduled" and run["start"] == planned["start"]
        assert (run["accelerator"], run["accelerators"]) == (planned["accelerator"], round(planned["accelerators"]))
        assert run["finish"] <= planned["finish"]


def test_the_bundled_plan_example_round_trips_in_the_plans_months_with_milp():
    from tests.conftest import EXAMPLES

    sc = parse_scenario((EXAMPLES / "plan-two-sites.yaml").read_text())
    res = plan(sc, milp=True, time_limit_s=60)
    assert res.status == "optimal" and res.unmet == []
    ds = simulate(parse_scenario(yaml.safe_dump(plan_to_scenario_data(sc, res))))
    sim = {r["name"]: r for r in summarise(ds).training_runs}
    for planned in res.schedule["training"]:
        run = sim[planned["run"]]
        assert run["status"] == "scheduled" and run["start"] == planned["start"]
        assert run["finish"] <= planned["finish"]
    _meets_what_the_plan_meets(sc, res, ds)


def test_milp_needs_blocks_or_runs_to_decide():
    with pytest.raises(ModelError, match="--milp needs targets.hall_block_mw .* or targets.training"):
        plan(_sc(), milp=True)


ROUND_TRIP = """
horizon: {start: 2026-01, months: 12}
supply: {accelerator: H100, wafer_starts: [{from: 2025-10, wafers_per_month: 400}], d0_per_cm2: 0.1}
sites:
  - {name: a, grid_power: [{from: 2026-01, mw: 20}], cooling: liquid, pue: 1.2, land_acres: 10,
     construction_start: 2025-06, construction_months: 9}
  - {name: b, grid_power: [{from: 2026-01, mw: 100}], cooling: air, pue: 1.4, land_acres: 10,
     construction_start: 2025-06, construction_months: 12}
economics: {accelerator_price_usd: 25000, electricity_usd_per_mwh: 80, datacenter_capex_usd_per_mw: 11.0e6}
workloads:
  inference: {model: llama-3-8b, precision: fp8}
targets:
  inference_demand: [{from: 2026-04, tokens_per_s: 3.0e7}, {from: 2026-09, tokens_per_s: 8.0e7}]
"""


def test_simulating_the_plan_meets_its_targets():
    sc = parse_scenario(ROUND_TRIP)
    res = plan(sc)
    assert res.status == "optimal" and res.unmet == []
    planned = parse_scenario(yaml.safe_dump(plan_to_scenario_data(sc, res)))
    summary = summarise(simulate(planned))
    assert max(summary.inference_unmet_tokens_per_s_by_month) == 0.0
    # and the plan built only what the demand needed: the simulated fleet is within a replica of the plan's
    planned_installed = res.series["installed"].sum(["accelerator", "site"]).values
    sim_installed = simulate(planned)["accelerators_installed"].sum("site").values
    assert np.all(sim_installed >= np.floor(planned_installed) - 1)


def test_plan_cli_json_and_no_targets_error(tmp_path, small_path):
    p = tmp_path / "p.yaml"
    p.write_text(ROUND_TRIP)
    res = CliRunner().invoke(app, ["plan", str(p), "--json", "--report", str(tmp_path / "plan.html")])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert set(PLAN_KEYS) <= set(d)
    assert d["status"] == "optimal" and d["variables"] > 0
    assert {"month", "site", "kind", "amount", "unit"} <= set(d["build"][0])
    assert "Bottleneck map" in (tmp_path / "plan.html").read_text()
    bad = CliRunner().invoke(app, ["plan", str(small_path)])
    assert bad.exit_code == 2 and "no targets" in bad.stderr


def test_max_compute_spends_within_the_budget():
    data = yaml.safe_load(ROUND_TRIP)
    data["targets"] = {"budget_usd": 2.0e9}
    sc = parse_scenario(yaml.safe_dump(data))
    res = plan(sc, objective="max-compute")
    assert res.status == "optimal"
    assert sum(res.cost_breakdown_usd.values()) <= 2.0e9 * (1 + 1e-6)
    richer = yaml.safe_load(ROUND_TRIP)
    richer["targets"] = {"budget_usd": 4.0e9}
    more = plan(parse_scenario(yaml.safe_dump(richer)), objective="max-compute")
    assert more.series["installed"].sum() >= res.series["installed"].sum()


POWER_BOUND_TRAINING = """
horizon: {start: 2026-01, months: 6}
supply: {accelerator: H100, wafer_starts: [{from: 2025-01, wafers_per_month: 1.0e5}], cycle_time_months: 0,
         d0_per_cm2: 0.1}
sites:
  - {name: only, grid_power: [{from: 2025-01, mw: 30}], cooling: liquid, pue: 1.2, land_acres: 10,
     construction_start: 2025-01, construction_months: 0}
economics: {accelerator_price_usd: 25000, electricity_usd_per_mwh: 80, datacenter_capex_usd_per_mw: 11.0e6}
targets:
  training: [{name: big, model: llama-3-70b, flops: 1.5e26, deadline: 2026-06, mfu: 0.4}]
"""


def test_accelerator_options_are_chosen_when_power_binds():
    h100_only = plan(parse_scenario(POWER_BOUND_TRAINING))
    assert h100_only.unmet and h100_only.unmet[0]["target"] == "training big"
    data = yaml.safe_load(POWER_BOUND_TRAINING)
    data["targets"]["accelerator_options"] = [
        {"accelerator": "B200", "price_usd": 40000, "available": [{"from": "2026-01", "per_month": 50000}]}
    ]
    both = plan(parse_scenario(yaml.safe_dump(data)))
    # B200: 2.25 PF per ~2.0 kW all-in vs H100's 0.99 PF per ~1.4 kW: more training per MW, so the same 30 MW
    # gets further (or all the way) to the target
    short = {u["target"]: u["shortfall_frac"] for u in both.unmet}
    assert short.get("training big", 0.0) < h100_only.unmet[0]["shortfall_frac"]
    bought = [r for r in both.build if r["kind"] == "accelerators" and r["accelerator"] == "B200"]
    assert bought


def test_time_of_use_prices_and_weather_price_energy_as_the_simulation_does():
    # peak price in 6 of 24 hours at flat utilisation: the planner's energy price is the hour-weighted mean, and a
    # hot climate raises the PUE it pays for (the month's mean hourly PUE, as in the simulation)
    base = plan(_sc())
    data = yaml.safe_load(TWO_SITES.replace("CHEAP_MW", "11.0").replace("DEMAND", "2.0e8"))
    data["economics"].update(electricity_peak_usd_per_mwh=300, peak_hours=[14, 20])
    tou = plan(parse_scenario(yaml.safe_dump(data)))
    mean_price = (18 * 100 + 6 * 300) / 24
    assert tou.cost_breakdown_usd["electricity"] == pytest.approx(
        base.cost_breakdown_usd["electricity"] * mean_price / 100, rel=1e-6
    )
    for site in data["sites"]:
        site.update(climate="us-arizona-phoenix", pue_per_degree_c=0.01, pue_reference_c=18)
    hot = plan(parse_scenario(yaml.safe_dump(data)))
    assert hot.cost_breakdown_usd["electricity"] > tou.cost_breakdown_usd["electricity"]


def test_behind_the_meter_solar_saves_energy_hour_of_day_by_hour_of_day():
    # solar at the dear site: electricity is each site's facility energy at the tariff, less what solar serves hour
    # of day by hour of day within the site's own load (the midday surplus is not counted); cheaper energy there
    # draws accelerators to it
    from fab2token.sites.energy import solar_profile

    base = plan(_sc())
    data = yaml.safe_load(TWO_SITES.replace("CHEAP_MW", "11.0").replace("DEMAND", "2.0e8"))
    data["sites"][1].update(solar_mw=[{"from": "2026-01", "mw": 200}], solar_capacity_factor=0.25)
    res = plan(parse_scenario(yaml.safe_dump(data)))
    inst = res.series["installed"].sum("accelerator")
    n_cheap, n_dear = (float(inst.sel(site=s_).values[0]) for s_ in ("cheap", "dear"))
    kw, hours = 1.275 * 1.089, 744.0
    load_dear = n_dear * kw / 1000.0 * 1.5  # facility MW (PUE 1.5, flat utilisation 1)
    used = np.minimum(200 * 0.25 * solar_profile(), load_dear).sum() * 31  # MWh of solar used over March
    expected = (n_cheap * 1.1 + n_dear * 1.5) * kw / 1000.0 * hours * 100.0 - used * 100.0
    assert res.cost_breakdown_usd["electricity"] == pytest.approx(expected, rel=1e-6)
    assert 0 < used < 200 * 0.25 * 24 * 31  # the midday surplus above the load is not counted
    n_dear_base = float(base.series["installed"].sum("accelerator").sel(site="dear").values[0])
    assert n_dear >= n_dear_base


@pytest.mark.parametrize("take_or_pay", [True, False])
def test_firm_ppa_priced_in_the_plan_like_the_simulation(take_or_pay):
    data = yaml.safe_load(TWO_SITES.replace("CHEAP_MW", "11.0").replace("DEMAND", "2.0e8"))
    data["sites"][1].update(ppa_mw=5, ppa_usd_per_mwh=40, ppa_take_or_pay=take_or_pay)
    res = plan(parse_scenario(yaml.safe_dump(data)))
    inst = res.series["installed"].sum("accelerator")
    n_cheap, n_dear = (float(inst.sel(site=s_).values[0]) for s_ in ("cheap", "dear"))
    kw, hours = 1.275 * 1.089, 744.0
    dear_mwh = n_dear * kw / 1000.0 * 1.5 * hours
    used = min(5 * hours, dear_mwh)  # the PPA covers the dear site's draw up to its 5 MW
    tariff = (n_cheap * 1.1 * kw / 1000.0 * hours + dear_mwh - used) * 100.0
    paid = 5 * hours * 40 if take_or_pay else used * 40
    assert res.cost_breakdown_usd["electricity"] == pytest.approx(tariff + paid, rel=1e-6)


def test_battery_arbitrage_in_the_plan_one_full_cycle_a_day():
    # 10 MW / 40 MWh at 80 % round trip, peak 300 in [14, 20), off-peak 100: charging 50 MWh a day off-peak and
    # delivering 40 MWh at peak saves 40 x 300 - 50 x 100 = 7,000 USD a day
    data = yaml.safe_load(TWO_SITES.replace("CHEAP_MW", "11.0").replace("DEMAND", "2.0e8"))
    data["economics"].update(electricity_peak_usd_per_mwh=300, peak_hours=[14, 20])
    data["sites"][1].update(battery_mw=10, battery_mwh=40, battery_round_trip_frac=0.8)
    res = plan(parse_scenario(yaml.safe_dump(data)))
    inst = res.series["installed"].sum("accelerator")
    n_cheap, n_dear = (float(inst.sel(site=s_).values[0]) for s_ in ("cheap", "dear"))
    assert n_dear * 1.275 * 1.089 / 1000.0 * 1.5 > 10  # the dear site draws more than the battery's 10 MW at peak
    mean_price = (18 * 100 + 6 * 300) / 24
    energy = (n_cheap * 1.1 + n_dear * 1.5) * 1.275 * 1.089 / 1000.0 * 744.0 * mean_price
    assert res.cost_breakdown_usd["electricity"] == pytest.approx(energy - 7000 * 31, rel=1e-6)
    dis = res.series["battery_discharge"].sel(site="dear").values[0]
    assert dis[14:20].sum() == pytest.approx(40 * 31, rel=1e-6) and dis[:14].sum() == pytest.approx(0, abs=1e-6)


def test_solar_charged_battery_moves_midday_surplus_to_the_night():
    data = yaml.safe_load(TWO_SITES.replace("CHEAP_MW", "11.0").replace("DEMAND", "2.0e8"))
    data["sites"][1].update(solar_mw=[{"from": "2026-01", "mw": 200}], solar_capacity_factor=0.25)
    solar_only = plan(parse_scenario(yaml.safe_dump(data)))
    data["sites"][1].update(battery_mw=10, battery_mwh=40, battery_round_trip_frac=0.8)
    both = plan(parse_scenario(yaml.safe_dump(data)))
    saving = solar_only.cost_breakdown_usd["electricity"] - both.cost_breakdown_usd["electricity"]
    # flat tariff: no arbitrage; at most the battery's 40 MWh a day delivered, all from free midday solar
    assert saving == pytest.approx(40 * 31 * 100.0, rel=1e-6)
    assert float(both.series["battery_from_grid"].sum()) == pytest.approx(0.0, abs=1e-6)


def test_round_trip_carries_the_plans_accelerator_options_into_the_simulator():
    # plan-two-sites buys B200s on the market: --scenario-out lists them as fleet market orders, so the simulation
    # receives the plan's deliveries per type (whole units; the own chain's wafers rounded up to whole wafers)
    from tests.conftest import EXAMPLES

    sc = parse_scenario((EXAMPLES / "plan-two-sites.yaml").read_text())
    res = plan(sc)
    data = plan_to_scenario_data(sc, res)
    assert [f["accelerator"] for f in data["fleet"]] == ["B200", "H100-SXM"]  # the own type: its deployment
    assert "market" in data["fleet"][0]
    # the own type's margin: one replica per site that houses it, on the market at its own price in its first month
    margin = data["fleet"][1]["market"]
    assert margin["price_usd"] == sc.economics.accelerator_price_usd
    assert 0 < margin["orders"][0]["per_month"] <= 8 * 2 and margin["orders"][1]["per_month"] == 0
    ds = simulate(parse_scenario(yaml.safe_dump(data)))
    assert list(ds["accelerator"].values) == ["H100-SXM", "B200"]
    for acc in ("H100-SXM", "B200"):
        sim = ds["accelerators_delivered_by_type"].sel(accelerator=acc).values.cumsum()
        planned = res.series["delivered"].sel(accelerator=acc).values.cumsum()
        assert float(res.series["delivered"].sel(accelerator=acc).sum()) > 0
        if acc == "B200":
            # whole units, fractions carried, plus one replica per site of margin from its first month
            assert np.all(sim >= planned - 1.0) and np.all(sim - planned <= 1.0 + 8 * 2)
        else:  # up to one wafer's worth of accelerators more each month
            per_wafer = float(ds["units_from_wafers"].max() / max(float(ds["wafers_out"].max()), 1.0))
            assert np.all(sim >= planned - 1.0) and np.all(sim - planned <= per_wafer * np.arange(1, sim.size + 1))
    runs = {r["name"]: r for r in summarise(ds).training_runs}
    assert runs["frontier"]["accelerator"] in ("H100-SXM", "B200")
    # and it installs what the plan installs: each type's count per site and month (whole units, rounded up, plus
    # at most one serving replica of margin where the plan uses the type), powered
    _installs_what_the_plan_installs(res, ds, replica=8)
    # what the plan delivered and did not install waits, paid for: stranded, named as the schedule's doing
    binding = list(ds["binding_constraint"].values)
    assert "deployment schedule" in binding
    _meets_what_the_plan_meets(sc, res, ds)


def _installs_what_the_plan_installs(res, ds, replica):
    n = res.series["installed"].fillna(0.0).transpose("accelerator", "site", "month").values
    planned = np.ceil(n - 1e-6)
    housed = ds["accelerators_housed_by_type"].transpose("accelerator", "site", "month").values
    powered = ds["accelerators_installed_by_type"].transpose("accelerator", "site", "month").values
    assert planned.sum() > 0
    np.testing.assert_array_equal(powered, housed)
    assert np.all(housed >= planned) and np.all(housed <= planned + replica * (n > 1e-6))
    np.testing.assert_array_equal(housed[n <= 1e-6], 0.0)  # nothing where the plan puts nothing


def _meets_what_the_plan_meets(sc, res, ds):
    """Every target the plan meets, the simulation of its scenario meets: each training run within its window, the
    inference demand every month."""
    met = {u["target"] for u in res.unmet}
    runs = {r["name"]: r for r in summarise(ds).training_runs}
    for t in sc.targets.training:
        if f"training {t.name}" in met:
            continue
        planned = next(r for r in res.schedule["training"] if r["run"] == t.name)
        run = runs[t.name]
        assert run["status"] == "scheduled" and planned["start"] <= run["start"] and run["finish"] <= t.deadline
    if "inference_unmet_tokens_per_s" in ds:
        assert float(ds["inference_unmet_tokens_per_s"].max()) == 0.0


def test_round_trip_of_a_mixed_fleet_plan_installs_the_base_where_it_stands():
    # the installed H100 base stays at its site in the plan (it never moves) and retires after its useful life; the
    # round trip reproduces every type's installed count per site and month
    from tests.conftest import EXAMPLES

    data = yaml.safe_load((EXAMPLES / "mixed-fleet.yaml").read_text())
    data["horizon"]["months"] = 30
    data["workloads"].pop("training")
    demand = data["workloads"]["inference"].pop("demand")
    data["targets"] = {"inference_demand": demand}
    sc = parse_scenario(yaml.safe_dump(data))
    res = plan(sc)
    n = res.series["installed"].fillna(0.0)
    assert float(n.sel(accelerator="H100-SXM", site="west").max()) == pytest.approx(0.0, abs=1e-6)
    base = n.sel(accelerator="H100-SXM", site="east").values
    assert base.max() > 0 and np.all(base <= 10000 + 1e-6)
    assert np.all(base[n["month"].values >= "2027-06"] <= 4000 + 1e-6)  # the 2022-06 cohort retired in 2027-06
    ds = simulate(parse_scenario(yaml.safe_dump(plan_to_scenario_data(sc, res))))
    _installs_what_the_plan_installs(res, ds, replica=8)
    _meets_what_the_plan_meets(sc, res, ds)


def test_the_land_limit_binds_in_the_plan_as_in_the_simulation():
    # 10 acres at 0.5 MW an acre hold 5 facility MW: the cheap site builds 5 / PUE IT MW however much grid it has
    text = TWO_SITES.replace("CHEAP_MW", "100").replace("DEMAND", "2.0e8")
    text = text.replace("pue: 1.1, land_acres: 10,", "pue: 1.1, land_acres: 10, mw_per_acre: 0.5,")
    sc = parse_scenario(text)
    res = plan(sc)
    built = float(res.series["it_mw_built"].sel(site="cheap").sum())
    assert built == pytest.approx(5.0 / 1.1, rel=1e-6)
    ds = simulate(sc)
    assert float(ds["it_capacity_mw"].sel(site="cheap").max()) == pytest.approx(5.0 / 1.1, rel=1e-6)


def test_the_plan_command_exits_with_its_status_and_prints_no_plan_without_one(tmp_path):
    from tests.conftest import EXAMPLES

    runner = CliRunner()
    ok = runner.invoke(app, ["plan", str(EXAMPLES / "plan-two-sites.yaml"), "--solver-log", str(tmp_path / "h.log")])
    assert ok.exit_code == 0 and "training frontier: 2026-" in ok.output
    assert (tmp_path / "h.log").read_text().strip()  # HiGHS's log went to the file, not the terminal
    assert "HiGHS" not in ok.output
    slow = runner.invoke(
        app,
        [
            "plan",
            str(
                EXAMPLES / "plan-two-sites.yaml",
            ),
            "--time-limit",
            "1e-9",
        ],
    )
    assert slow.exit_code == 3 and "no plan" in slow.output and "$0" not in slow.output
    js = runner.invoke(app, ["plan", str(EXAMPLES / "plan-two-sites.yaml"), "--time-limit", "1e-9", "--json"])
    assert js.exit_code == 3 and json.loads(js.stdout)["status"] == "time_limit"


def test_short_targets_of_both_kinds_are_valued_in_dollars_when_both_values_are_stated():
    from fab2token.plan.model import VALUE_UNIT
    from tests.conftest import EXAMPLES

    base = (EXAMPLES / "plan-two-sites.yaml").read_text().replace("tokens_per_s: 6.0e7}", "tokens_per_s: 3.0e8}")
    fractions = plan(parse_scenario(base))
    valued = plan(parse_scenario(base + "  value_usd_per_million_tokens: 0.5\n  value_usd_per_flop: 1.0e-18\n"))
    assert fractions.unmet and valued.unmet  # the demand is out of reach
    assert all(b["unit"].startswith("target fraction") and b["value_usd"] is None for b in fractions.binding_if_short)
    assert valued.binding_if_short
    for b in valued.binding_if_short:
        assert b["unit"].startswith(VALUE_UNIT) and b["value_usd"] == pytest.approx(b["value"] * 1e6)
    # the cost phase holds the shortfall at its least: its duals price that hold, so none are reported as values
    assert valued.binding == [] and fractions.binding == []


def test_a_target_without_a_measured_mfu_takes_the_layout_searchs_on_each_type(tmp_path):
    from fab2token.plan.data import plan_data
    from fab2token.workloads.layout import search_layout

    data = yaml.safe_load(TWO_RUNS)
    data["targets"]["training"][0]["mfu"] = "search"
    data["targets"]["accelerator_options"] = [
        {"accelerator": "B200", "price_usd": 40000, "available": [{"from": "2026-01", "per_month": 50}]}
    ]
    sc = parse_scenario(yaml.safe_dump(data))
    d = plan_data(sc)
    rate = d.run_flop_per_acc_month.isel(month=0)
    ref = {a: search_layout("llama-3-8b", a, 16384)["mfu"] for a in ("H100", "B200")}
    searched = rate.sel(run="pre") / d.peak
    assert float(searched.sel(accelerator="B200") / searched.sel(accelerator="H100-SXM")) == pytest.approx(
        ref["B200"] / ref["H100"], rel=1e-12
    )  # each type at its own searched MFU
    given = rate.sel(run="post") / d.peak  # mfu 0.4 on every type, as before
    assert float(given.sel(accelerator="B200")) == pytest.approx(float(given.sel(accelerator="H100-SXM")), rel=1e-12)
    res = plan(sc)
    assert res.status == "optimal"
    (run,) = [r for r in plan_to_scenario_data(sc, res)["workloads"]["training"] if r["name"] == "pre"]
    assert run["mfu"] == pytest.approx(ref["H100"] if run["accelerator"] == "H100-SXM" else ref["B200"], rel=1e-12)
    bad = tmp_path / "bad.yaml"
    data["targets"]["training"][0]["mfu"] = "fast"
    bad.write_text(yaml.safe_dump(data))
    out = CliRunner().invoke(app, ["validate", str(bad)])
    assert out.exit_code == 2
    assert "targets.training[0].mfu: got 'fast'; expected a number in (0, 1] or search" in out.output


def test_a_targets_mfu_may_still_be_a_distribution(tmp_path):
    data = yaml.safe_load(TWO_RUNS)
    data["targets"]["training"][0]["mfu"] = {"dist": "uniform", "low": 0.3, "high": 0.5}
    path = tmp_path / "uncertain.yaml"
    path.write_text(yaml.safe_dump(data))
    out = CliRunner().invoke(app, ["validate", str(path)])
    assert out.exit_code == 0, out.output
