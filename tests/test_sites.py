"""Site model: queue, on-site power, land, rack density, cluster size, hourly PUE/water/carbon, site command."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from fab2token.cli import app
from fab2token.energy import hourly_ambient_c, pue_stats
from fab2token.errors import ScenarioError
from fab2token.scenario import parse_scenario
from fab2token.simulate import simulate
from fab2token.sites import fat_tree_endpoints

BASE = """
horizon: {start: 2026-01, months: 12}
supply: {accelerator: H100, wafer_starts: [{from: 2025-07, wafers_per_month: 300}], d0_per_cm2: 0.1}
sites:
  - {name: a, grid_power: [{from: 2026-01, mw: 20}], cooling: liquid, pue: 1.2, land_acres: 10,
     construction_start: 2025-01, construction_months: 0}
economics: {accelerator_price_usd: 1, electricity_usd_per_mwh: 100, datacenter_capex_usd_per_mw: 1}
"""


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
    assert cap[0] == pytest.approx(30 / 1.2)
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
    assert ds["it_capacity_mw"].sel(site="a").values[0] == pytest.approx(20 / p99[0])
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
    ):
        assert len(d[key]) == 12
    bad = CliRunner().invoke(app, ["site", str(p), "--site", "zz"])
    assert bad.exit_code == 2 and "one of the scenario's sites" in bad.stderr
