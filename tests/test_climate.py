"""Climate table, day-to-day spread, climate regions and hourly weather files on sites, and their bad input."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from fab2token import catalog
from fab2token.climate import (
    climate_regions,
    daily_sigma,
    read_weather_csv,
    region_normals,
    typical_year_by_month,
)
from fab2token.energy import MAX_HOURS, hourly_ambient_c, hourly_climate
from fab2token.errors import ScenarioError
from fab2token.scenario import parse_scenario
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
