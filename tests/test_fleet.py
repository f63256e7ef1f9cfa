"""Fleets of several accelerator types: placement (never move, spare power this month), retirement, the installed
base, market lead times, per-type power and cost, the mixed-fleet example, and bad fleet input."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from fab2token.deploy.fleet import HOURS_PER_YEAR
from fab2token.deploy.placement import place_fleet
from fab2token.engine.simulate import simulate, summarise
from fab2token.errors import ScenarioError
from fab2token.scenario import load_scenario, parse_scenario
from tests.conftest import EXAMPLES
from tests.test_deploy import deploy_loop


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 4),
    st.lists(st.integers(0, 40), min_size=1, max_size=12),
    st.data(),
)
def test_one_type_with_capacity_that_never_falls_is_the_month_loop(n_sites, delivered, data):
    months = len(delivered)
    steps = data.draw(
        st.lists(st.lists(st.integers(0, 15), min_size=n_sites, max_size=n_sites), min_size=months, max_size=months)
    )
    cap = np.cumsum(np.array(steps, dtype=float), axis=0)  # accelerators each site can power: never falls
    kw = 1.3
    got = place_fleet(np.array([delivered], dtype=float), cap * kw, np.array([kw]))
    want = deploy_loop(np.array(delivered, dtype=float), cap)  # in accelerators: capacity kW / kW
    np.testing.assert_allclose(got.powered[0], want)
    np.testing.assert_allclose(got.waiting[0] + got.powered[0].sum(axis=1), np.cumsum(delivered))


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_fleet_placement_invariants(data):
    types, months, sites = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 14)), data.draw(st.integers(1, 3))
    delivered = np.array(
        data.draw(
            st.lists(st.lists(st.integers(0, 30), min_size=months, max_size=months), min_size=types, max_size=types)
        ),
        dtype=float,
    )
    cap = np.array(
        data.draw(
            st.lists(st.lists(st.integers(0, 60), min_size=sites, max_size=sites), min_size=months, max_size=months)
        ),
        dtype=float,
    )
    kw = np.array(data.draw(st.lists(st.sampled_from([1.0, 1.4, 2.0]), min_size=types, max_size=types)))
    life = np.array(data.draw(st.lists(st.sampled_from([np.inf, 2.0, 5.0]), min_size=types, max_size=types)))
    p = place_fleet(delivered, cap, kw, life)
    assert (p.powered <= p.housed + 1e-9).all() and (p.powered >= 0).all() and (p.placed >= 0).all()
    load = np.einsum("t,tms->ms", kw, p.powered)
    assert (load <= cap + 1e-9).all()  # never more powered than the site can feed
    # conservation: delivered = housed + waiting + retired, per type and month
    np.testing.assert_allclose(
        np.cumsum(delivered, axis=1), p.housed.sum(axis=2) + p.waiting + np.cumsum(p.retired, axis=1), atol=1e-9
    )
    # never move: a site's housed count changes only by what is placed there and what retires
    step = np.diff(p.housed, axis=1, prepend=0.0) - p.placed
    assert (step <= 1e-9).all()
    # placement only into spare power: what a site houses after placing fits its capacity that month, unless it
    # already held more (a derated month), in which case nothing was placed there
    housed_load = np.einsum("t,tms->ms", kw, p.housed)
    new_load = np.einsum("t,tms->ms", kw, p.placed)
    assert ((housed_load <= cap + 1e-9) | (new_load == 0)).all()


def test_a_derated_site_sends_new_deliveries_to_a_site_with_spare_power():
    # site 0 can power 10, then a hot month cuts it to 6; site 1 has room: the month's 5 new accelerators go to
    # site 1 (before: into site 0's room, idle) and nothing moves
    cap = np.array([[10.0, 20.0], [6.0, 20.0]])
    p = place_fleet(np.array([[10.0, 5.0]]), cap, np.array([1.0]))
    np.testing.assert_allclose(p.housed[0], [[10, 0], [10, 5]])
    np.testing.assert_allclose(p.powered[0], [[10, 0], [6, 5]])


def test_retirement_frees_room_for_waiting_accelerators():
    # one site for 10; type 0 (life 3 months) fills it in month 0; type 1 waits until those retire in month 3
    p = place_fleet(
        np.array([[10, 0, 0, 0, 0], [0, 4, 0, 0, 0]], dtype=float),
        np.full((5, 1), 10.0),
        np.ones(2),
        np.array([3, np.inf]),
    )
    np.testing.assert_allclose(p.housed[:, :, 0], [[10, 10, 10, 0, 0], [0, 0, 0, 4, 4]])
    np.testing.assert_allclose(p.retired[0], [0, 0, 0, 10, 0])
    np.testing.assert_allclose(p.waiting[1], [0, 4, 4, 0, 0])


BASE = """
horizon: {start: 2026-01, months: 12}
supply: {accelerator: H100, wafer_starts: [{from: 2025-10, wafers_per_month: 0}], d0_per_cm2: 0.1}
sites:
  - {name: a, grid_power: [{from: 2026-01, mw: 20}], cooling: liquid, pue: 1.2, land_acres: 10,
     construction_start: 2025-01, construction_months: 0}
  - {name: b, grid_power: [{from: 2026-01, mw: 20}], cooling: liquid, pue: 1.2, land_acres: 10,
     construction_start: 2025-01, construction_months: 0}
economics: {accelerator_price_usd: 25000, electricity_usd_per_mwh: 80, datacenter_capex_usd_per_mw: 1.0e7}
fleet:
  - {accelerator: B200, market: {price_usd: 40000, lead_time_months: 3, orders: [{from: 2026-02, per_month: 1000}]},
     useful_life_years: 4}
  - {accelerator: H100, installed: [{site: b, count: 3000, since: 2021-07}], useful_life_years: 5, price_usd: 30000}
"""


def _sim(text: str = BASE):
    ds = simulate(parse_scenario(text))
    return ds, summarise(ds).to_dict()


def test_market_lead_time_installed_base_and_its_retirement():
    ds, s = _sim()
    b200 = ds["accelerators_delivered_by_type"].sel(accelerator="B200").values
    np.testing.assert_allclose(b200, [0, 0, 0, 0] + [1000] * 8)  # ordered from 2026-02, delivered 3 months later
    h100 = ds["accelerators_housed_by_type"].sel(accelerator="H100-SXM").sum("site").values
    np.testing.assert_allclose(h100, [3000] * 6 + [0] * 6)  # in service since 2021-07: five years end 2026-07
    assert ds["accelerators_retired_by_type"].sel(accelerator="H100-SXM").values[6] == 3000
    # the installed base sits where it was, B200 deliveries fill site a first (site order)
    assert float(ds["accelerators_housed_by_type"].sel(accelerator="H100-SXM", site="a").sum()) == 0
    assert float(ds["accelerators_housed_by_type"].sel(accelerator="B200", site="a").isel(month=4)) == 1000
    rows = {r["accelerator"]: r for r in s["fleet"]}
    assert rows["B200"]["sources"] == "market"
    assert rows["H100-SXM"]["sources"] == "supply chain + installed base"  # the scenario's own type, no wafers here
    assert rows["H100-SXM"]["depreciation_usd_per_accelerator_hour"] == pytest.approx(30000 / (5 * HOURS_PER_YEAR))


def test_power_and_cost_per_type():
    ds, s = _sim()
    kw = ds["all_in_it_kw"]
    np.testing.assert_allclose(
        (ds["accelerators_installed_by_type"] * kw).sum("accelerator").values / 1000.0,
        ds["it_power_mw"].transpose("month", "site").values,
    )
    np.testing.assert_allclose(ds["capex_accelerators_usd"].values, [0, 0, 0, 0] + [1000 * 40000] * 8)
    dep = ds["depreciation_usd"].sel(accelerator="B200").values
    housed = ds["accelerators_housed_by_type"].sel(accelerator="B200").sum("site").values
    np.testing.assert_allclose(dep, housed * 40000 / 48)  # straight line over four years, in service
    assert s["accelerators_delivered_total"] == pytest.approx(8000)


def test_mixed_fleet_example_places_retires_and_bills_each_type():
    sc, _ = load_scenario(EXAMPLES / "mixed-fleet.yaml")
    ds = simulate(sc)
    s = summarise(ds).to_dict()
    names = [r["accelerator"] for r in s["fleet"]]
    assert names == ["MI300X", "H100-SXM", "B200"]
    h100 = ds["accelerators_housed_by_type"].sel(accelerator="H100-SXM", site="east").values
    # 6,000 in service since 2022-06 retire in 2027-06 (month 17), 4,000 since 2023-09 in 2028-09 (month 32)
    assert h100[0] == h100[16] == 10000 and h100[17] == h100[31] == 4000 and h100[32] == h100[-1] == 0
    assert float(ds["accelerators_housed_by_type"].sel(accelerator="H100-SXM", site="west").sum()) == 0  # never moves
    # B200s go to the site with spare power; the own accelerator fills what is left, then waits
    assert float(ds["accelerators_installed_by_type"].sel(accelerator="B200").sum("site").isel(month=-1)) > 0
    assert float(ds["accelerators_waiting_by_type"].sel(accelerator="MI300X").isel(month=-1)) > 0
    # the waiting own accelerators are stranded inventory at their price
    assert (
        s["stranded_inventory_usd_end"]
        >= float(ds["accelerators_waiting_by_type"].sel(accelerator="MI300X")[-1]) * 15000
    )
    assert s["fab_capex_usd_total"] > 0
    run = s["training_runs"][0]
    assert run["accelerator"] == "B200" and run["status"] == "scheduled"
    kw = ds["all_in_it_kw"]
    it = (ds["accelerators_installed_by_type"] * kw).sum("accelerator") / 1000.0
    np.testing.assert_allclose(it.transpose("month", "site").values, ds["it_power_mw"].values)


@pytest.mark.parametrize(
    ("edit", "path", "words"),
    [
        (lambda d: d["fleet"][0].update(accelerator="H900"), "fleet[0].accelerator", "expected an accelerator"),
        (lambda d: d["fleet"][1]["installed"][0].update(site="nowhere"), "fleet[1].installed[0].site", "one of the"),
        (lambda d: d["fleet"][1]["installed"][0].update(since="2026-05"), "fleet[1].installed[0].since", "no later"),
        (
            lambda d: d["fleet"].append({"accelerator": "B200 SXM", "useful_life_years": 3}),
            "fleet[2].accelerator",
            "one entry per type",
        ),
        (lambda d: d["fleet"].append({"accelerator": "MI300X"}), "fleet[2]", "a source"),
        (lambda d: d["fleet"][0]["market"].update(lead_time_months=-1), "fleet[0].market.lead_time_months", "greater"),
        (
            lambda d: d.update(
                workloads={
                    "training": [
                        {
                            "name": "r",
                            "model": "llama-3-8b",
                            "tokens": 1e9,
                            "accelerators": 8,
                            "start": "2026-01",
                            "accelerator": "MI300X",
                        }
                    ]
                }
            ),
            "workloads.training[0].accelerator",
            "an accelerator type of the fleet",
        ),
    ],
)
def test_bad_fleet_input_names_the_field(edit, path, words):
    data = yaml.safe_load(BASE)
    edit(data)
    with pytest.raises(ScenarioError) as err:
        parse_scenario(yaml.safe_dump(data))
    hits = [i for i in err.value.issues if i.path == path]
    assert hits and words in hits[0].expected, [str(i) for i in err.value.issues]


def test_a_deployment_schedule_is_read_as_steps_per_site():
    from fab2token.deploy.fleet import fleet_inputs
    from fab2token.scenario.timeline import month_axis

    data = yaml.safe_load((EXAMPLES / "mixed-fleet.yaml").read_text())
    data["horizon"]["months"] = 12  # 2026-01 .. 2026-12
    data["fleet"][1]["deployment"] = [
        {"site": "west", "from": "2026-09", "count": 500},  # out of order: sorted per site by month
        {"site": "west", "from": "2025-06", "count": 100},  # before the horizon: holds from its first month
        {"site": "east", "from": "2026-08", "count": 0},
        {"site": "east", "from": "2026-07", "count": 300},
        {"site": "west", "from": "2030-01", "count": 9},  # after the horizon: never applies
    ]
    sc = parse_scenario(yaml.safe_dump(data))
    axis = month_axis(sc.horizon.start, sc.horizon.months)
    fi = fleet_inputs(sc, axis, np.zeros(axis.size))
    cap = fi.deploy_cap[fi.index("B200")]  # (month, site): east, west
    np.testing.assert_array_equal(cap[:, 0], [0] * 6 + [300] + [0] * 5)
    np.testing.assert_array_equal(cap[:, 1], [100] * 8 + [500] * 4)
    assert np.isinf(fi.deploy_cap[fi.index("H100-SXM")]).all()  # no schedule: no limit
    ds = simulate(sc)
    housed = ds["accelerators_housed_by_type"].sel(accelerator="B200").transpose("site", "month").values
    assert np.all(housed <= cap.T + 1e-9)  # B200s are delivered from 2026-06 (ordered 2026-03, three months' lead)
    assert housed[0, 6] == 300 and housed[0, 7] == 0  # east hands its 300 back in August: west takes them
    assert housed[1, 7] == 100 and housed[1, 8] == 500
    assert "deployment schedule" in list(ds["binding_constraint"].values)


def _with_second_own_design() -> dict:
    data = yaml.safe_load((EXAMPLES / "mixed-fleet.yaml").read_text())
    data["fleet"].append(
        {
            "accelerator": "H200",  # a second own design: its own fab at a foundry allocation, its cost to its owner
            "supply": {"fab": {"wafer_starts": [{"from": "2025-10", "wafers_per_month": 300}], "d0_per_cm2": 0.1}},
            "price_usd": 20000,
            "useful_life_years": 5,
        }
    )
    return data


def test_a_second_own_design_delivers_from_its_own_chain():
    from fab2token.scenario.timeline import month_axis
    from fab2token.supply.chain import chain, inputs_from_supply

    sc = parse_scenario(yaml.safe_dump(_with_second_own_design()))
    ds = simulate(sc)
    axis = month_axis(sc.horizon.start, sc.horizon.months)
    own = chain(inputs_from_supply(sc.fleet[-1].supply, axis, sc.horizon.start, sc.catalog))
    want = np.diff(np.floor(np.cumsum(own["accelerators_delivered"]) + 1e-9), prepend=0.0)
    got = ds["accelerators_delivered_by_type"].sel(accelerator="H200").values
    np.testing.assert_array_equal(got, want)
    assert got.sum() > 1000
    capex = ds["capex_accelerators_by_type_usd"].sel(accelerator="H200").values
    np.testing.assert_allclose(capex, got * 20000)
    rows = {r["accelerator"]: r for r in summarise(ds).fleet}
    assert rows["H200"]["sources"] == "supply chain"
    # the first design's chain is unchanged by the second
    alone = simulate(parse_scenario((EXAMPLES / "mixed-fleet.yaml").read_text()))
    np.testing.assert_array_equal(ds["wafers_out"].values, alone["wafers_out"].values)
    np.testing.assert_allclose(
        ds["fab_capex_usd"].values, alone["fab_capex_usd"].values + own.get("fab_capex_usd", 0.0)
    )


def test_the_planner_takes_a_second_own_designs_deliveries_as_given():
    from fab2token.plan import plan
    from fab2token.plan.data import plan_data

    data = _with_second_own_design()
    data["horizon"]["months"] = 24
    data["workloads"].pop("training")
    data["targets"] = {"inference_demand": data["workloads"]["inference"].pop("demand")}
    sc = parse_scenario(yaml.safe_dump(data))
    d = plan_data(sc)
    sim = simulate(sc)
    np.testing.assert_array_equal(
        d.fixed_delivered.sel(accelerator="H200").values,
        sim["accelerators_delivered_by_type"].sel(accelerator="H200").values,
    )
    assert not bool(d.buyable.sel(accelerator="H200"))  # decided by its own wafer starts, not by the plan
    res = plan(sc)
    assert res.status == "optimal"


@pytest.mark.parametrize(
    "change, where, expected",
    [
        (lambda f: f.pop("price_usd"), "fleet[3].price_usd", "cost per accelerator"),
        (lambda f: f["supply"].update(accelerator="B200"), "fleet[3].supply.accelerator", "this entry's type, H200"),
        (
            lambda f: f.update(deployment=[{"site": "nowhere", "from": "2026-01", "count": 5}]),
            "deployment[0].site",
            "sites",
        ),
    ],
)
def test_bad_own_designs_and_deployments_are_refused(change, where, expected):
    data = _with_second_own_design()
    change(data["fleet"][3])
    with pytest.raises(ScenarioError) as err:
        parse_scenario(yaml.safe_dump(data))
    assert where in str(err.value) and expected in str(err.value)


def test_a_second_chain_for_the_scenarios_own_type_is_refused():
    data = _with_second_own_design()
    data["fleet"][2]["supply"] = {"fab": {"capacity_wafers_per_month": 10}}  # MI300X: supply: already builds it
    data["fleet"][2]["price_usd"] = 15000
    with pytest.raises(ScenarioError, match=r"fleet\[2\]\.supply.*no second chain"):
        parse_scenario(yaml.safe_dump(data))
