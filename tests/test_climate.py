"""Climate table, day-to-day spread, climate regions and hourly weather files on sites, and their bad input."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from fab2token import catalog
from fab2token.engine.simulate import simulate
from fab2token.errors import ScenarioError
from fab2token.scenario import parse_scenario
from fab2token.sites.climate import (
    climate_regions,
    daily_sigma,
    read_weather_csv,
    region_normals,
    relative_humidity_pct,
    typical_year_by_month,
    wet_bulb_c,
)
from fab2token.sites.energy import MAX_HOURS, hourly_ambient_c, hourly_climate
from tests.test_sites import BASE  # a valid one-site scenario text


def _text(**site) -> str:
    data = yaml.safe_load(BASE)
    data["sites"][0].update(site)
    return yaml.safe_dump(data)


def test_table_has_twenty_regions_with_a_source_on_every_row():
    rows = catalog.table_rows("climate")
    assert len(climate_regions()) >= 20
    assert len(rows) == 12 * len(climate_regions())
    for row in rows:
        assert "https://github.com/" in row["source"] and ".stat" in row["source"], row
        assert -30 < row["dry_bulb_mean_c"] < 40 and 0 < row["daily_range_c"] < 20


def test_fitted_spread_puts_ten_percent_of_hours_above_the_design_dry_bulb():
    n = region_normals("us-georgia-atlanta")
    axis = 2030 * 12 + np.arange(12 * 40)
    t = hourly_ambient_c(n.mean_c[:, None], n.range_c[:, None], axis, n.sigma_c[:, None], seed=3)[..., 0]
    month = axis % 12
    for m in range(12):
        hours = t[month == m].ravel()
        share = np.mean(hours[~np.isnan(hours)] > n.db10_c[m])
        assert share == pytest.approx(0.10, abs=0.012), m


def test_no_spread_when_the_daily_cycle_alone_reaches_the_design_value():
    # mean 20, range 10: the cosine alone spends ~1/3 of hours above 23 °C, so sigma is 0
    assert daily_sigma(np.array([20.0]), np.array([10.0]), np.array([23.0]))[0] == 0.0
    assert daily_sigma(np.array([20.0]), np.array([10.0]), np.array([30.0]))[0] > 0.0


def test_climate_region_on_a_site_drives_the_hourly_temperature():
    sc = parse_scenario(_text(climate="us-arizona-phoenix"))
    axis = 2030 * 12 + np.arange(12 * 10)
    clim = hourly_climate(sc.sites, axis)
    monthly = np.nanmean(clim.temp_c[..., 0], axis=1).reshape(10, 12).mean(axis=0)  # calendar-month means
    np.testing.assert_allclose(monthly, region_normals("us-arizona-phoenix").mean_c, atol=0.8)


def test_weather_csv_is_used_hour_by_hour(tmp_path):
    year = 10.0 + 5.0 * np.sin(np.arange(8760) / 100.0)
    f = tmp_path / "typical.csv"
    f.write_text("dry_bulb_c\n" + "\n".join(f"{v:.4f}" for v in year))
    sc = parse_scenario(_text(weather_csv="typical.csv"), str(tmp_path / "s.yaml"))  # relative to the scenario file
    axis = 2031 * 12 + np.arange(12)
    t = hourly_climate(sc.sites, axis).temp_c[..., 0]
    assert t[0, 0] == pytest.approx(year[0], abs=1e-4)  # 1 January 00:00
    assert t[1, 5] == pytest.approx(year[744 + 5], abs=1e-4)  # 1 February 05:00
    assert t[11, 743] == pytest.approx(year[-1], abs=1e-4)  # 31 December 23:00
    assert np.isnan(t[1, 672:]).all()  # February 2031 has 672 hours


def test_leap_february_repeats_its_last_day():
    year = np.arange(8760, dtype=float)
    by_month = typical_year_by_month(year, MAX_HOURS)
    assert by_month[1, 671] == 744 + 671 and by_month[1, 672] == 744 + 672 - 24


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("temp\n1\n", "dry_bulb_c"),
        ("dry_bulb_c\n" + "1\n" * 100, "8760"),
        ("dry_bulb_c\n" + "1\n" * 8759 + "hot\n", "expected a number"),
        ("dry_bulb_c\n" + "1\n" * 8759 + "120\n", "-90..65"),
    ],
)
def test_bad_weather_csv_names_the_site_field_and_what_was_expected(tmp_path, content, expected):
    (tmp_path / "w.csv").write_text(content)
    with pytest.raises(ScenarioError) as err:
        parse_scenario(_text(weather_csv="w.csv"), str(tmp_path / "s.yaml"))
    issue = err.value.issues[0]
    assert issue.path == "sites[0].weather_csv" and issue.value == "w.csv"
    assert expected in issue.expected


def test_missing_weather_file_is_an_input_error(tmp_path):
    with pytest.raises(ScenarioError, match="sites\\[0\\].weather_csv"):
        parse_scenario(_text(weather_csv="nowhere.csv"), str(tmp_path / "s.yaml"))


def test_unknown_region_and_two_weather_sources_are_errors():
    with pytest.raises(ScenarioError, match="us-virginia-ashburn"):  # the message lists the known regions
        parse_scenario(_text(climate="atlantis"))
    with pytest.raises(ScenarioError, match="not ambient_c and climate"):
        parse_scenario(_text(climate="uae-dubai", ambient_c=list(range(12))))


def test_read_weather_csv_returns_the_year(tmp_path):
    f = tmp_path / "w.csv"
    f.write_text("hour,dry_bulb_c\n" + "".join(f"{i},{i % 30}\n" for i in range(8760)))
    year = read_weather_csv(f)
    assert year.shape == (8760,) and year[31] == 1.0


def _psychrometric_wet_bulb(t: float, rh: float, p_hpa: float = 1013.25) -> float:
    """Wet bulb by the psychrometer equation e = e_s(Tw) - P (T - Tw) 0.00066 (1 + 0.00115 Tw), solved by bisection."""

    def es(x: float) -> float:
        return 6.1094 * np.exp(17.625 * x / (243.04 + x))

    e = rh / 100.0 * es(t)
    lo, hi = -40.0, t
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if es(mid) - p_hpa * (t - mid) * 0.00066 * (1 + 0.00115 * mid) > e:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


def test_stull_wet_bulb_within_its_published_error_band():
    # Stull (2011): errors of -1 to +0.65 °C against psychrometric wet bulb over RH 5-99 %, -20..50 °C. Our reference
    # (Magnus saturation pressure, constant psychrometer coefficient) is itself approximate by ~0.1 °C, hence the
    # 0.1 °C margin; checked over 0-40 °C (at 45 °C and 30 % the two references part by 0.75 °C)
    for t in (0.0, 10.0, 20.0, 30.0, 35.0, 40.0):
        for rh in (10.0, 30.0, 50.0, 70.0, 95.0):
            err = float(wet_bulb_c(t, rh)) - _psychrometric_wet_bulb(t, rh)
            assert -1.0 - 0.1 <= err <= 0.65 + 0.1, (t, rh, err)
    assert float(relative_humidity_pct(25.0, 25.0)) == pytest.approx(100.0)
    assert float(relative_humidity_pct(20.0, 30.0)) == pytest.approx(100.0)  # dew point above air: saturated


def test_wue_rises_with_wet_bulb_above_its_reference():
    flat = simulate(parse_scenario(_text(climate="us-texas-houston", wue_l_per_kwh=0.2)))
    wet = parse_scenario(
        _text(climate="us-texas-houston", wue_l_per_kwh=0.2, wue_per_degree_c=0.1, wue_reference_wet_bulb_c=-60.0)
    )
    ds = simulate(wet)
    # with the reference far below any wet bulb, water = IT energy x (WUE + slope x (mean wet bulb + 60)), hour-weighted
    axis = 2026 * 12 + np.arange(12)
    twb = hourly_climate(wet.sites, axis).wet_bulb_c[..., 0]
    mean_wb = np.nanmean(twb, axis=1)
    it_e = (flat["water_m3"].values[:, 0]) / 0.2  # MWh of IT energy supplied (flat load within each month)
    np.testing.assert_allclose(ds["water_m3"].values[:, 0], it_e * (0.2 + 0.1 * (mean_wb + 60.0)), rtol=1e-9)
    july = ds["water_m3"].values[6, 0] / max(it_e[6], 1e-9)
    january = ds["water_m3"].values[0, 0] / max(it_e[0], 1e-9) if it_e[0] > 0 else july
    assert july >= january


def test_wue_slope_needs_a_reference_and_a_humidity():
    with pytest.raises(ScenarioError, match="wue_reference_wet_bulb_c"):
        parse_scenario(_text(climate="us-texas-houston", wue_per_degree_c=0.1))
    with pytest.raises(ScenarioError, match="dew_point_c"):
        parse_scenario(_text(wue_per_degree_c=0.1, wue_reference_wet_bulb_c=18.0))


def test_catalog_climate_command():
    import json

    from typer.testing import CliRunner

    from fab2token.cli.main import app

    runner = CliRunner()
    listing = runner.invoke(app, ["catalog", "climate", "--json"])
    assert listing.exit_code == 0, listing.output
    rows = json.loads(listing.stdout)
    assert len(rows) == len(climate_regions()) and all("https://" in r["source"] for r in rows)
    one = runner.invoke(app, ["catalog", "climate", "--region", "uae-dubai", "--json"])
    d = json.loads(one.stdout)
    assert d["region"] == "uae-dubai" and len(d["dry_bulb_mean_c"]) == 12 and d["dry_bulb_10pct_c"][0] is None
    bad = runner.invoke(app, ["catalog", "climate", "--region", "atlantis"])
    assert bad.exit_code == 2 and "us-virginia-ashburn" in bad.output
    assert runner.invoke(app, ["catalog", "optics"]).exit_code == 0


def test_a_weather_file_is_read_once_when_the_scenario_is_loaded(tmp_path):
    # validation reads the file and hands its hours on: removing it afterwards changes nothing in the run
    from fab2token.scenario import load_scenario
    from tests.conftest import EXAMPLES

    hours = 20 + 10 * np.sin(np.arange(8760) * 2 * np.pi / 24)
    (tmp_path / "w.csv").write_text("dry_bulb_c\n" + "\n".join(f"{v:.2f}" for v in hours) + "\n")
    data = yaml.safe_load((EXAMPLES / "small.yaml").read_text())
    data["sites"][0].pop("climate", None)
    data["sites"][0].pop("ambient_c", None)
    data["sites"][0].update(weather_csv="w.csv", pue_per_degree_c=0.01, pue_reference_c=20)
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    sc, _ = load_scenario(path)
    (tmp_path / "w.csv").unlink()
    ds = simulate(sc)
    pue = ds["pue_p99"].isel(site=0).values
    assert np.all(pue > 1.2 + 0.09)  # the file's 30 °C afternoons: PUE 1.2 + 0.01 x (30 - 20) at the top hours
