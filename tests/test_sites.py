"""Site model: queue, on-site power, land, rack density, cluster size, hourly PUE/water/carbon, site command."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from fab2token import catalog
from fab2token.cli.main import app
from fab2token.engine.simulate import simulate
from fab2token.errors import ScenarioError
from fab2token.scenario import parse_scenario
from fab2token.sites.energy import hourly_ambient_c, pue_stats, solar_profile
from fab2token.sites.power import fat_tree_endpoints

BASE = """
horizon: {start: 2026-01, months: 12}
supply: {accelerator: H100, wafer_starts: [{from: 2025-07, wafers_per_month: 300}], d0_per_cm2: 0.1}
sites:
  - {name: a, grid_power: [{from: 2026-01, mw: 20}], cooling: liquid, pue: 1.2, land_acres: 10,
     construction_start: 2025-01, construction_months: 0}
economics: {accelerator_price_usd: 1, electricity_usd_per_mwh: 100, datacenter_capex_usd_per_mw: 1}
"""


USABLE = catalog.overhead("usable_power_frac")  # share of connected power the facility load may use


def _sc(**site):
    data = yaml.safe_load(BASE)
    data["sites"][0].update(site)
    return parse_scenario(yaml.safe_dump(data))


def test_interconnection_queue_delays_grid_power():
    ds = simulate(_sc(interconnection_queue_months=3))
    grid = ds["grid_power_mw"].sel(site="a").values
    assert list(grid[:3]) == [0, 0, 0] and grid[3] == 20


def test_onsite_generation_adds_capacity_and_covers_load_above_grid():
    ds = simulate(_sc(onsite_power=[{"from": "2026-01", "mw": 10}], onsite_kgco2_per_mwh=400, onsite_usd_per_mwh=120))
    cap = ds["it_capacity_mw"].sel(site="a").values
    assert cap[0] == pytest.approx(30 * USABLE / 1.2)  # grid + on-site, the gear's usable share
    used = ds["it_power_mw"].sel(site="a").values
    full = used * 1.2 > 20 + 1e-9  # facility load above the grid's 20 MW
    assert np.all(ds["onsite_energy_mwh"].sel(site="a").values[full] > 0)
    assert np.all(ds["carbon_tco2"].sel(site="a").values[full] > 0)


def test_land_limits_power_and_names_the_binding_constraint():
    ds = simulate(_sc(mw_per_acre=1.0))  # 10 acres hold 10 MW of the 20 MW grid
    assert ds["it_capacity_mw"].sel(site="a").values[0] == pytest.approx(10 / 1.2)
    b = ds["binding_constraint"].values
    assert "land" in set(b) and all((ds["accelerators_backlog"].values > 0) == (b != "supply"))


def test_hot_hours_cut_capacity_and_cooling_binds():
    hot = [30.0] * 12  # a hot site: PUE rises 0.01 per degree above 20 °C
    ds = simulate(_sc(ambient_c=hot, diurnal_range_c=10, pue_per_degree_c=0.01))
    p99 = ds["pue_p99"].sel(site="a").values
    assert np.all(p99 == pytest.approx(1.2 + 0.01 * (30 + 5 * np.cos(2 * np.pi * 0 / 24) - 20), abs=1e-3))
    assert np.all(ds["pue_mean"].sel(site="a").values == pytest.approx(1.3, abs=1e-6))
    assert ds["it_capacity_mw"].sel(site="a").values[0] == pytest.approx(20 * USABLE / p99[0])
    assert "cooling" in set(ds["binding_constraint"].values)


def test_energy_balance_and_water():
    ds = simulate(_sc(wue_l_per_kwh=0.5, grid_kgco2_per_mwh=300))
    site = ds.sel(site="a")
    np.testing.assert_allclose(site["energy_mwh"].values, site["grid_energy_mwh"] + site["onsite_energy_mwh"])
    it_energy = (
        site["it_power_mw"].values
        * 1.0
        * site["energy_mwh"].values
        / np.maximum(site["it_power_mw"].values * 1.2, 1e-12)
    )
    np.testing.assert_allclose(site["water_m3"].values, it_energy * 0.5, rtol=1e-9)
    np.testing.assert_allclose(site["carbon_tco2"].values, site["grid_energy_mwh"].values * 0.3, rtol=1e-9)


def test_rack_density_above_cooling_limit_is_an_error():
    with pytest.raises(ScenarioError) as info:
        _sc(rack_kw=140)  # liquid cooling: 132 kW per rack in the catalog
    (issue,) = info.value.issues
    assert issue.path == "sites[0].rack_kw" and "'a'" in issue.expected and "132" in issue.expected
    _sc(rack_kw=140, max_rack_kw=200)  # a site's own limit overrides the catalog's


def test_fat_tree_cluster_size():
    assert float(fat_tree_endpoints(64, 2)) == 64 * 32
    assert float(fat_tree_endpoints(64, 3)) == 64**3 / 4
    ds = simulate(_sc(switch_radix=16, fabric_tiers=2))
    assert ds["max_cluster_accelerators"].max() == 128


def test_hourly_temperature_is_reproducible_and_keeps_monthly_mean():
    axis = np.arange(24312, 24312 + 24)
    monthly = np.linspace(-5, 25, 12)[:, None]
    a = hourly_ambient_c(monthly, np.array([8.0]), axis, noise_c=2.0, seed=7)
    b = hourly_ambient_c(monthly, np.array([8.0]), axis, noise_c=2.0, seed=7)
    np.testing.assert_array_equal(a, b)
    clean = hourly_ambient_c(monthly, np.array([8.0]), axis)
    np.testing.assert_allclose(np.nanmean(clean, axis=1)[:12, 0], monthly[:, 0], atol=1e-9)
    mean, p99 = pue_stats(1.0 + 0.01 * np.maximum(clean - 10, 0))
    assert np.all(p99 >= mean)


def test_site_command_json_keys(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text(BASE)
    res = CliRunner().invoke(app, ["site", str(p), "--site", "a", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    for key in (
        "it_power_mw",
        "facility_power_mw",
        "pue_mean",
        "pue_p99",
        "water_m3",
        "carbon_tco2",
        "max_cluster_accelerators",
        "optics_power_kw",
        "optics_capex_usd",
    ):
        assert len(d[key]) == 12
    installed = np.array(d["it_power_mw"]) > 0
    assert all(w > 0 for w, on in zip(d["optics_power_kw"], installed, strict=True) if on)
    bad = CliRunner().invoke(app, ["site", str(p), "--site", "zz"])
    assert bad.exit_code == 2 and "one of the scenario's sites" in bad.stderr


def test_halls_come_in_whole_blocks():
    ds = simulate(_sc(hall_block_mw=7.0))  # 20 MW of grid power holds two 7 MW halls
    assert ds["it_capacity_mw"].sel(site="a").values[0] == pytest.approx(14 / 1.2)


def test_construction_phases_spread_capex_before_energisation():
    sc = _sc(
        construction_start="2025-11",
        construction_months=4,
        phases=[
            {"name": "shell", "months": 2, "capex_usd_per_mw": 3.0e6},
            {"name": "fit-out", "months": 2, "capex_usd_per_mw": 5.0e6},
        ],
    )
    ds = simulate(sc)
    capex = ds["capex_datacenter_usd"].sel(site="a").values
    it_mw = 20 * USABLE / 1.2
    # horizon starts 2026-01: the shell's second month is not in it; fit-out runs 2026-01 and 2026-02
    assert capex[0] == pytest.approx(it_mw * 5.0e6 / 2) and capex[1] == pytest.approx(it_mw * 5.0e6 / 2)
    assert capex[2] == pytest.approx(0.0)  # energised 2026-03: no second charge at the flat capex rate


def test_phases_must_add_up_to_the_construction_months():
    with pytest.raises(ScenarioError) as info:
        _sc(construction_months=5, phases=[{"name": "all", "months": 4}])
    assert info.value.issues[0].path == "sites[0]" or "construction_months" in info.value.issues[0].expected


def test_time_of_use_prices_cost_peak_hours_more():
    flat = simulate(_sc())
    data = yaml.safe_load(BASE)
    data["economics"].update(electricity_peak_usd_per_mwh=300, peak_hours=[14, 20])
    tou = simulate(parse_scenario(yaml.safe_dump(data)))
    grid = flat["grid_energy_mwh"].sel(site="a").values
    # flat load: 6 of 24 hours at 300 instead of 100 -> mean price 150
    np.testing.assert_allclose(tou["opex_usd"].sel(site="a").values, grid * 150, rtol=1e-9)
    np.testing.assert_allclose(flat["opex_usd"].sel(site="a").values, grid * 100, rtol=1e-9)


def test_solar_serves_daytime_load_and_cuts_grid_energy_and_carbon():
    base = simulate(_sc(grid_kgco2_per_mwh=400))
    sun = simulate(_sc(grid_kgco2_per_mwh=400, solar_mw=[{"from": "2026-01", "mw": 5}], solar_capacity_factor=0.25))
    solar = sun["solar_energy_mwh"].sel(site="a").values
    load = base["energy_mwh"].sel(site="a").values
    np.testing.assert_allclose(sun["grid_energy_mwh"].sel(site="a").values + solar, load, rtol=1e-9)
    hours = np.array([744, 672, 744, 720, 744, 720, 744, 744, 720, 744, 720, 744])
    running = load > 0
    # where the load exceeds 5 MW every daylight hour, solar yields its full capacity factor: 5 MW x 0.25 x hours
    full = running & (base["it_power_mw"].sel(site="a").values * 1.2 > 5 / 0.25 / np.pi * 2 + 1e-9)
    np.testing.assert_allclose(solar[full], 5 * 0.25 * hours[full], rtol=1e-6)
    assert np.all(sun["carbon_tco2"].values <= base["carbon_tco2"].values + 1e-9)


def test_battery_dispatch_by_hand():
    from fab2token.sites.energy import battery_dispatch

    surplus = np.zeros((1, 24, 1))
    shortfall = np.zeros((1, 24, 1))
    surplus[0, 10:14, 0] = 10.0  # 4 h of 10 MW that would be curtailed
    shortfall[0, 20:24, 0] = 5.0  # 4 h of 5 MW that on-site generation would meet
    out, into = battery_dispatch(surplus, shortfall, np.array([[8.0]]), np.array([20.0]), np.array([0.8]))
    # offer min(10, 8) x 4 h = 32 MWh -> 25.6 MWh deliverable, capped at 20 MWh and at the 20 MWh shortfall
    np.testing.assert_allclose(out[0, 20:24, 0], 5.0)
    np.testing.assert_allclose(into[0, 10:14, 0], 20.0 / 0.8 / 4)  # only what is delivered is charged
    assert out[0, :20].sum() == 0 and into[0, :10].sum() == 0 and into[0, 14:].sum() == 0


def test_battery_dispatch_respects_power_energy_and_losses():
    from fab2token.sites.energy import battery_dispatch

    rng = np.random.default_rng(7)
    surplus = rng.uniform(0, 30, (3, 72, 4)) * (rng.random((3, 72, 4)) < 0.4)
    shortfall = rng.uniform(0, 30, (3, 72, 4)) * (rng.random((3, 72, 4)) < 0.4)
    power = rng.uniform(1, 20, (3, 4))
    energy = rng.uniform(5, 80, 4)
    rte = rng.uniform(0.7, 0.95, 4)
    out, into = battery_dispatch(surplus, shortfall, power, energy, rte)
    assert np.all(out <= shortfall + 1e-9) and np.all(into <= surplus + 1e-9)
    assert np.all(out <= power[:, None, :] + 1e-9) and np.all(into <= power[:, None, :] + 1e-9)
    daily_out = out.reshape(3, 3, 24, 4).sum(axis=2)
    daily_in = into.reshape(3, 3, 24, 4).sum(axis=2)
    np.testing.assert_allclose(daily_out, daily_in * rte, rtol=1e-9, atol=1e-9)  # losses: exactly the RTE
    assert np.all(daily_out <= energy + 1e-9)


def test_battery_moves_curtailed_solar_into_the_night_and_displaces_onsite_generation():
    site = dict(
        grid_power=[{"from": "2026-01", "mw": 10}],
        onsite_power=[{"from": "2025-01", "mw": 10}],
        onsite_kgco2_per_mwh=500,
        onsite_usd_per_mwh=120,  # dearer than the grid: it runs after it (economic dispatch)
        solar_mw=[{"from": "2026-01", "mw": 60}],
        solar_capacity_factor=0.25,
    )
    base = simulate(_sc(**site))
    bat = simulate(
        _sc(**site, battery_mw=10, battery_mwh=40, battery_round_trip_frac=0.8, battery_capex_usd_per_kwh=300)
    )
    a = {k: v.sel(site="a").values for k, v in bat.items() if "site" in v.dims}
    b = {k: v.sel(site="a").values for k, v in base.items() if "site" in v.dims}
    np.testing.assert_allclose(a["energy_mwh"], b["energy_mwh"])
    np.testing.assert_allclose(a["grid_energy_mwh"], b["grid_energy_mwh"])
    assert a["battery_energy_mwh"].sum() > 0
    np.testing.assert_allclose(a["onsite_energy_mwh"] + a["battery_energy_mwh"], b["onsite_energy_mwh"], rtol=1e-9)
    np.testing.assert_allclose(a["solar_energy_mwh"] - b["solar_energy_mwh"], a["battery_energy_mwh"] / 0.8)
    days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    assert np.all(a["battery_energy_mwh"] <= 40 * days + 1e-6)
    assert a["carbon_tco2"].sum() < b["carbon_tco2"].sum()
    extra = a["capex_datacenter_usd"] - b["capex_datacenter_usd"]
    assert extra[0] == pytest.approx(40 * 1000 * 300) and np.allclose(extra[1:], 0)


def test_battery_needs_power_and_energy():
    with pytest.raises(ScenarioError) as info:
        _sc(battery_mw=10)
    issue = info.value.issues[0]
    assert issue.path == "sites[0]" and "battery_mwh" in issue.expected


def test_site_json_has_energy_by_source_and_report_shows_the_mix(tmp_path):
    data = yaml.safe_load(BASE)
    data["sites"][0].update(
        grid_power=[{"from": "2026-01", "mw": 10}],
        onsite_power=[{"from": "2025-01", "mw": 10}],
        onsite_usd_per_mwh=120,
        solar_mw=[{"from": "2026-01", "mw": 60}],
        battery_mw=10,
        battery_mwh=40,
    )
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    out = CliRunner().invoke(app, ["site", str(path), "--site", "a", "--json"])
    assert out.exit_code == 0, out.output
    res = json.loads(out.output)
    assert sum(res["battery_energy_mwh"]) > 0
    ds = simulate(parse_scenario(path.read_text())).sel(site="a")
    direct_solar = ds["solar_energy_mwh"].values - ds["solar_to_battery_mwh"].values
    sources = np.array(res["grid_energy_mwh"]) + res["onsite_energy_mwh"] + direct_solar + res["battery_energy_mwh"]
    np.testing.assert_allclose(sources, ds["energy_mwh"].values, rtol=1e-9)  # the sources add up to the load
    report = tmp_path / "r.html"
    out = CliRunner().invoke(app, ["run", str(path), "--db", str(tmp_path / "x.duckdb"), "--report", str(report)])
    assert out.exit_code == 0, out.output
    html = report.read_text()
    assert "Facility energy by source" in html and "a: battery MW" in html and "a: solar MW (nameplate)" in html


def test_onsite_cost_and_carbon_from_heat_rate_and_fuel():
    from fab2token.sites.power import onsite_cost_and_carbon

    def resolved(**fields):
        site = _sc(**fields).sites[0]
        usd, kg = onsite_cost_and_carbon([site])
        return float(usd[0]), float(kg[0])

    usd, kg = resolved(onsite_heat_rate_mmbtu_per_mwh=9.0, onsite_fuel_usd_per_mmbtu=3.5)
    assert usd == pytest.approx(31.5) and kg == pytest.approx(9.0 * 53.06)  # natural gas by default (EPA factor)
    usd, kg = resolved(onsite_heat_rate_mmbtu_per_mwh=10.0, onsite_fuel_kgco2_per_mmbtu=73.96)  # e.g. diesel
    assert kg == pytest.approx(739.6) and usd == 0.0
    assert resolved(onsite_heat_rate_mmbtu_per_mwh=10.0, onsite_kgco2_per_mwh=100)[1] == 100  # an explicit figure wins
    # validation computes nothing: the site keeps what the file says
    assert _sc(onsite_heat_rate_mmbtu_per_mwh=9.0, onsite_fuel_usd_per_mmbtu=3.5).sites[0].onsite_usd_per_mwh == 0.0


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"onsite_fuel_usd_per_mmbtu": 3.5}, "onsite_heat_rate_mmbtu_per_mwh"),
        (
            {"onsite_heat_rate_mmbtu_per_mwh": 9, "onsite_fuel_usd_per_mmbtu": 3.5, "onsite_usd_per_mwh": 40},
            "not both",
        ),
        (
            {"onsite_heat_rate_mmbtu_per_mwh": 9, "onsite_kgco2_per_mwh": 400, "onsite_fuel_kgco2_per_mmbtu": 50},
            "not both",
        ),
        ({"onsite_heat_rate_mmbtu_per_mwh": -1}, "greater than 0"),
    ],
)
def test_onsite_fuel_bad_input_names_the_site_and_the_fields(fields, words):
    with pytest.raises(ScenarioError) as info:
        _sc(**fields)
    issue = info.value.issues[0]
    assert issue.path.startswith("sites[0]") and words in (issue.expected + " " + issue.path)


def test_firm_ppa_replaces_grid_carbon_and_is_priced_take_or_pay():
    base = simulate(_sc(grid_kgco2_per_mwh=400)).sel(site="a")
    ppa = simulate(_sc(grid_kgco2_per_mwh=400, ppa_mw=5, ppa_usd_per_mwh=70)).sel(site="a")
    hours = np.array([744, 672, 744, 720, 744, 720, 744, 744, 720, 744, 720, 744])
    grid = base["grid_energy_mwh"].values
    used = np.minimum(grid, 5 * hours)  # the demo load runs above 5 MW once the fleet is in; below it early on
    np.testing.assert_allclose(ppa["ppa_energy_mwh"].values, used, rtol=1e-9)
    np.testing.assert_allclose(ppa["grid_energy_mwh"].values, grid)  # PPA energy comes through the grid connection
    np.testing.assert_allclose(ppa["carbon_tco2"].values, (grid - used) * 0.4, rtol=1e-9)
    # take-or-pay: every PPA hour is paid at 70, the rest of the grid draw at the tariff (100)
    extra = ppa["opex_usd"].values - base["opex_usd"].values
    np.testing.assert_allclose(extra, 5 * hours * 70 - used * 100, rtol=1e-9)


def test_ppa_pay_as_used_and_its_price_is_required():
    big = simulate(_sc(ppa_mw=1000, ppa_usd_per_mwh=70, ppa_take_or_pay=False)).sel(site="a")
    base = simulate(_sc()).sel(site="a")
    np.testing.assert_allclose(big["opex_usd"].values, base["opex_usd"].values * 0.7, rtol=1e-9)
    with pytest.raises(ScenarioError) as info:
        _sc(ppa_mw=5)
    assert info.value.issues[0].path == "sites[0]" and "ppa_usd_per_mwh" in info.value.issues[0].expected


def test_curtailment_event_cuts_grid_pauses_work_and_earns_its_credit():
    base = simulate(_sc()).sel(site="a")
    ev = simulate(
        _sc(curtailments=[{"start": "2026-07-15 14:00", "hours": 4, "mw": "20 MW", "credit_usd_per_mwh": 500}])
    ).sel(site="a")
    jul = 6
    facility_mw = float(base["it_power_mw"].values[jul]) * 1.2  # flat PUE (no ambient given), utilisation 1
    assert facility_mw > 0
    cut = ev["curtailed_mwh"].values
    assert cut[jul] == pytest.approx(4 * facility_mw) and np.allclose(np.delete(cut, jul), 0)
    np.testing.assert_allclose(ev["unserved_energy_mwh"].values, cut)  # no battery or on-site power: work pauses
    np.testing.assert_allclose(ev["energy_mwh"].values, base["energy_mwh"].values - cut)
    np.testing.assert_allclose(
        ev["opex_usd"].values, base["opex_usd"].values - cut * 100 - cut * 500, rtol=1e-9
    )  # energy not bought, and the credit earned


def test_curtailment_across_a_month_end_falls_to_onsite_power_then_pauses_work():
    site = dict(onsite_power=[{"from": "2025-01", "mw": 20}], onsite_usd_per_mwh=200)
    ev = simulate(_sc(**site, curtailments=[{"start": "2026-07-31 22:00", "hours": 4, "mw": 20}])).sel(site="a")
    base = simulate(_sc(**site)).sel(site="a")
    cut = ev["curtailed_mwh"].values
    it = base["it_power_mw"].values
    assert cut[6] > 0 and cut[7] > 0 and cut[6] / cut[7] == pytest.approx(it[6] / it[7])  # 2 h in July, 2 in August
    assert np.allclose(np.delete(cut, [6, 7]), 0)
    more_onsite = ev["onsite_energy_mwh"].values - base["onsite_energy_mwh"].values
    # what the grid did not deliver came from on-site headroom, else was unserved
    np.testing.assert_allclose(more_onsite + ev["unserved_energy_mwh"].values, cut, rtol=1e-9, atol=1e-9)
    assert np.all(more_onsite >= -1e-9)


def test_curtailment_bad_start_names_the_event():
    with pytest.raises(ScenarioError) as info:
        _sc(curtailments=[{"start": "2026-13-01 10:00", "hours": 2, "mw": 5}])
    issue = info.value.issues[0]
    assert issue.path == "sites[0].curtailments[0].start" and "YYYY-MM-DD HH:00" in issue.expected


def test_diurnal_utilisation_profile_shapes_energy_and_time_of_use_cost():
    data = yaml.safe_load(BASE)
    profile = [0.5] * 12 + [1.0] * 12  # half load overnight and in the morning, full from noon
    data["economics"].update(it_utilisation_by_hour=profile, electricity_peak_usd_per_mwh=300, peak_hours=[14, 20])
    day = simulate(parse_scenario(yaml.safe_dump(data))).sel(site="a")
    flat = simulate(_sc()).sel(site="a")
    np.testing.assert_allclose(day["energy_mwh"].values, flat["energy_mwh"].values * 0.75, rtol=1e-9)
    # the peak hours (14-20) all run at full load: 6 x 1.0 x 300 + 6 x 1.0 x 100 + 12 x 0.5 x 100 per 18 load-hours
    per_mwh = (6 * 300 + 6 * 100 + 12 * 0.5 * 100) / 18
    np.testing.assert_allclose(day["opex_usd"].values, day["grid_energy_mwh"].values * per_mwh, rtol=1e-9)
    data["economics"]["it_utilisation_frac"] = 0.8
    with pytest.raises(ScenarioError) as info:
        parse_scenario(yaml.safe_dump(data))
    assert info.value.issues[0].path == "economics" and "not both" in info.value.issues[0].expected


def _tou(peak: float, **site):
    data = yaml.safe_load(BASE)
    data["sites"][0].update(site)
    data["economics"].update(electricity_peak_usd_per_mwh=peak, peak_hours=[14, 20], it_utilisation_frac=0.5)
    return simulate(parse_scenario(yaml.safe_dump(data))).sel(site="a")


def test_battery_arbitrage_charges_off_peak_and_discharges_at_peak_when_it_pays():
    battery = dict(battery_mw=5, battery_mwh=20, battery_round_trip_frac=0.8)
    base, arb = _tou(300), _tou(300, **battery)
    out, into = arb["battery_energy_mwh"].values, arb["grid_to_battery_mwh"].values
    days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    assert out.sum() > 0 and np.all(out <= 20 * days + 1e-6)
    np.testing.assert_allclose(into, out / 0.8, rtol=1e-9)  # losses: the round-trip efficiency
    np.testing.assert_allclose(arb["grid_energy_mwh"].values, base["grid_energy_mwh"].values + into - out)
    # charged only in off-peak hours (100), discharged only into peak purchases (300)
    np.testing.assert_allclose(arb["opex_usd"].values, base["opex_usd"].values + 100 * into - 300 * out, rtol=1e-9)
    np.testing.assert_allclose(arb["energy_mwh"].values, base["energy_mwh"].values)  # the load itself is unchanged


def test_battery_arbitrage_skipped_when_the_spread_does_not_cover_the_losses():
    arb = _tou(110, battery_mw=5, battery_mwh=20, battery_round_trip_frac=0.8)  # 110 x 0.8 < 100
    assert arb["battery_energy_mwh"].values.sum() == 0 and arb["grid_to_battery_mwh"].values.sum() == 0


def test_hourly_engine_in_blocks_of_months_equals_one_block(monkeypatch):
    # the engine runs 12 months at a time (memory reuse); months are independent, so results must not change
    from fab2token.sites import energy
    from tests.conftest import EXAMPLES

    data = yaml.safe_load((EXAMPLES / "small.yaml").read_text())
    data["sites"][0].update(
        battery_mw=5,
        battery_mwh=20,
        ppa_mw=5,
        ppa_usd_per_mwh=60,
        solar_mw=[{"from": "2026-01", "mw": 30}],
        curtailments=[{"start": "2026-12-31 22:00", "hours": 5, "mw": 10, "credit_usd_per_mwh": 200}],
    )
    data["economics"].update(electricity_peak_usd_per_mwh=200)
    sc = parse_scenario(yaml.safe_dump(data))
    assert sc.horizon.months > 12
    blocked = simulate(sc)
    monkeypatch.setattr(energy, "BLOCK_MONTHS", 10_000)
    whole = simulate(sc)
    for name in ("energy_mwh", "grid_energy_mwh", "battery_energy_mwh", "curtailed_mwh", "water_m3", "opex_usd"):
        np.testing.assert_allclose(blocked[name].values, whole[name].values, rtol=1e-12, atol=1e-9, err_msg=name)


def test_solar_shaped_ppa_delivers_daylight_energy_and_is_paid_as_generated():
    base = simulate(_sc(grid_kgco2_per_mwh=400)).sel(site="a")
    sol = simulate(
        _sc(grid_kgco2_per_mwh=400, ppa_mw=5, ppa_usd_per_mwh=40, ppa_shape="solar", ppa_capacity_factor=0.25)
    ).sel(site="a")
    hours = np.array([744, 672, 744, 720, 744, 720, 744, 744, 720, 744, 720, 744])
    grid = base["grid_energy_mwh"].values
    full = grid / hours > 5 * 0.25 * float(solar_profile().max())  # load above the PPA's midday peak all month
    assert full.any()
    generated = 5 * 0.25 * hours  # the profile's daily mean is 1: MW x capacity factor x hours
    np.testing.assert_allclose(sol["ppa_energy_mwh"].values[full], generated[full], rtol=1e-9)
    np.testing.assert_allclose(sol["carbon_tco2"].values[full], (grid[full] - generated[full]) * 0.4, rtol=1e-9)
    # take-or-pay on a solar PPA: every generated MWh at 40, the tariff (100) saved on what the site used
    extra = sol["opex_usd"].values - base["opex_usd"].values
    np.testing.assert_allclose(extra, generated * 40 - sol["ppa_energy_mwh"].values * 100, rtol=1e-9)


def test_solar_ppa_needs_its_capacity_factor_and_a_firm_one_has_none():
    with pytest.raises(ScenarioError, match="ppa_capacity_factor"):
        _sc(ppa_mw=5, ppa_usd_per_mwh=40, ppa_shape="solar")
    with pytest.raises(ScenarioError, match="solar only"):
        _sc(ppa_mw=5, ppa_usd_per_mwh=40, ppa_capacity_factor=0.2)


def test_onsite_generation_cheaper_than_the_tariff_runs_before_the_grid():
    # economic dispatch: at 30 USD/MWh on-site beats the 100 USD/MWh tariff in every hour, so the grid takes only
    # what the on-site capacity cannot; at 120 USD/MWh the grid goes first (the order before this rule existed)
    site = dict(grid_power=[{"from": "2026-01", "mw": 10}], onsite_power=[{"from": "2025-01", "mw": 10}])
    cheap = simulate(_sc(**site, onsite_usd_per_mwh=30)).sel(site="a")
    dear = simulate(_sc(**site, onsite_usd_per_mwh=120)).sel(site="a")
    np.testing.assert_allclose(cheap["energy_mwh"], dear["energy_mwh"])
    load = cheap["energy_mwh"].values
    hours = 24 * np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    np.testing.assert_allclose(cheap["onsite_energy_mwh"], np.minimum(load, 10 * hours), rtol=1e-9)
    np.testing.assert_allclose(dear["grid_energy_mwh"], np.minimum(load, 10 * hours), rtol=1e-9)
    assert float(cheap["opex_usd"].sum()) < float(dear["opex_usd"].sum())


def test_usable_share_of_connected_power_sizes_capacity():
    # the continuous-load rule (catalog default 0.8) and a site's own figure for gear rated at 100 %
    assert simulate(_sc())["it_capacity_mw"].sel(site="a").values[0] == pytest.approx(20 * 0.8 / 1.2)
    full = simulate(_sc(usable_power_frac=1.0))
    assert full["it_capacity_mw"].sel(site="a").values[0] == pytest.approx(20 / 1.2)
    with pytest.raises(ScenarioError) as err:
        _sc(usable_power_frac=1.2)
    assert any(i.path == "sites[0].usable_power_frac" for i in err.value.issues)


def test_site_inputs_dataset_holds_the_coefficients_the_engine_ran_on():
    # one inputs layer: the named-array view gives exactly what the simulation sized and billed with
    from fab2token.scenario.timeline import month_axis
    from fab2token.sites.inputs import site_inputs

    sc = _sc(ambient_c=[30.0] * 12, diurnal_range_c=10, pue_per_degree_c=0.01)
    ds = simulate(sc)
    coef = site_inputs(sc, month_axis(sc.horizon.start, sc.horizon.months)).dataset()
    np.testing.assert_allclose(coef["it_capacity_mw"].values, ds["it_capacity_mw"].values)
    np.testing.assert_allclose(coef["pue_p99"].values, ds["pue_p99"].values)
    assert coef["price_usd_per_mwh"].dims == ("hod",) and coef.sizes["hod"] == 24
