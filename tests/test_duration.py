"""Load duration curves (:mod:`fab2token.sites.duration`): the hourly merit order's monthly sums in closed form
equal the hourly engine's to rounding, on every field, for the draws they apply to; the others run hour by hour;
a draw's results do not depend on the batch it runs in."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from fab2token.engine.batch import run_batch
from fab2token.scenario.draws import draw_scenario, draw_values, read_sweep_scenario
from fab2token.sites import draws as site_draws
from fab2token.sites import energy as energy_mod
from fab2token.sites.climate import MAX_HOURS
from fab2token.sites.duration import DurationCurves, monthly_sums
from fab2token.sweep.execute import sweep_values

ROOT = Path(__file__).resolve().parents[1]


def _scenarios(data: dict, n: int) -> list:
    ss = read_sweep_scenario(yaml.safe_dump(data), "d.yaml")
    values = sweep_values(ss, n, 1, "random")
    return [draw_scenario(ss, draw_values(values, k), k) for k in range(n)]


def _demanding() -> dict:
    """uncertain.yaml with a peak tariff, a diurnal IT profile, water use rising with the wet bulb, on-site
    generation dearer than the tariff and a grid too small for the load at times (unserved hours)."""
    data = yaml.safe_load((ROOT / "examples" / "uncertain.yaml").read_text())
    data["economics"].update(electricity_peak_usd_per_mwh=140, peak_hours=[16, 21])
    del data["economics"]["it_utilisation_frac"]
    data["economics"]["it_utilisation_by_hour"] = [
        round(0.6 + 0.3 * float(np.sin(np.pi * h / 24)), 3) for h in range(24)
    ]
    data["sites"][0].update(wue_per_degree_c=0.02, wue_reference_wet_bulb_c={"dist": "uniform", "low": 14, "high": 20})
    data["sites"][1]["onsite_usd_per_mwh"] = 150
    data["sites"][1]["grid_power"] = [{"from": "2026-06", "mw": {"dist": "uniform", "low": 5, "high": 30}}]
    return data


def _hourly(scs: list, monkeypatch: pytest.MonkeyPatch) -> list:
    """The same batch with every draw run hour by hour."""
    with monkeypatch.context() as m:
        m.setattr(site_draws, "_closed_form", lambda si, c: False)
        return run_batch(scs).hourly


def test_the_closed_form_equals_the_hourly_merit_order_on_every_field(monkeypatch):
    scs = _scenarios(_demanding(), 6)
    b = run_batch(scs)
    consts = [energy_mod.site_constants(sc.sites) for sc in scs]
    assert all(site_draws._closed_form(si, c) for si, c in zip(b.sites, consts, strict=True))
    hourly = _hourly(scs, monkeypatch)
    onsite = 0.0
    for fast, slow in zip(b.hourly, hourly, strict=True):
        for f in dataclasses.fields(slow):
            a, e = getattr(fast, f.name), getattr(slow, f.name)
            if e is None:
                continue
            np.testing.assert_allclose(a, e, rtol=1e-11, atol=1e-9, err_msg=f.name)
        onsite += float(slow.onsite_energy_mwh.sum())
    assert onsite > 0  # the case exercises the on-site part of the merit order


def test_loads_beyond_the_grid_and_on_site_capacity_go_unserved_as_hour_by_hour():
    sc = _scenarios(_demanding(), 1)[0]
    b = run_batch([sc])
    si, c = b.sites[0], energy_mod.site_constants(sc.sites)
    rng = np.random.default_rng(0)
    months, sites = si.power.grid_mw.shape
    load = rng.uniform(0.0, 40.0, (months, sites)) * (rng.uniform(size=(months, sites)) > 0.1)  # some months idle
    grid, onsite = rng.uniform(0.0, 30.0, (months, sites)), rng.uniform(0.0, 8.0, (months, sites))
    onsite[:, 0] = 0.0  # alpha prices no on-site generation (it would run before the grid); beta's is dearer
    slow = energy_mod.hourly_energy(
        sc.sites,
        si.axis,
        load,
        grid,
        onsite,
        si.utilisation_by_hour,
        climate=si.climate,
        price_usd_per_mwh_by_hour=si.price_usd_per_mwh_by_hour,
    )
    curves = DurationCurves.of(si.climate, si.utilisation_by_hour, si.price_usd_per_mwh_by_hour, c.wue_ref)
    fast = monthly_sums(curves, load[None], grid[None], onsite[None], c.wue, c.wue_slope, c.grid_co2, c.onsite_co2)
    for name, v in fast.items():
        np.testing.assert_allclose(v[0], getattr(slow, name), rtol=1e-11, atol=1e-9, err_msg=name)
    assert slow.unserved_energy_mwh.sum() > 0 and slow.onsite_energy_mwh.sum() > 0


def test_draws_with_solar_batteries_ppas_or_curtailment_run_hour_by_hour(monkeypatch):
    data = yaml.safe_load((ROOT / "examples" / "uncertain.yaml").read_text())
    data["sites"][0].update(battery_mw=4, battery_mwh=16, solar_mw=[{"from": "2026-06", "mw": 5}])
    scs = _scenarios(data, 4)
    b = run_batch(scs)
    consts = [energy_mod.site_constants(sc.sites) for sc in scs]
    assert not any(site_draws._closed_form(si, c) for si, c in zip(b.sites, consts, strict=True))
    for fast, slow in zip(b.hourly, _hourly(scs, monkeypatch), strict=True):
        np.testing.assert_array_equal(fast.grid_energy_mwh, slow.grid_energy_mwh)  # the very same computation


def test_on_site_generation_cheaper_than_the_tariff_runs_hour_by_hour():
    data = yaml.safe_load((ROOT / "examples" / "uncertain.yaml").read_text())
    data["sites"][1]["onsite_usd_per_mwh"] = 40  # below the 80 USD/MWh tariff: dispatched before the grid
    scs = _scenarios(data, 2)
    b = run_batch(scs)
    assert not site_draws._closed_form(b.sites[0], energy_mod.site_constants(scs[0].sites))


def test_a_draw_gives_the_same_numbers_alone_and_in_any_batch():
    scs = _scenarios(_demanding(), 5)
    together = run_batch(scs).hourly
    for k in (0, 3):
        alone = run_batch([scs[k]]).hourly[0]
        for f in dataclasses.fields(alone):
            if getattr(alone, f.name) is not None:
                np.testing.assert_array_equal(getattr(together[k], f.name), getattr(alone, f.name), err_msg=f.name)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([0, 1, 2]), st.lists(st.floats(0.0, 4.0), min_size=3, max_size=3))
def test_threshold_sums_are_the_sums_of_the_hours_capped(seed, decimals, cs):
    """S(c) = sum_h min(x_h, c) and Sp(c) = sum_h p_h min(x_h, c) for any shapes and thresholds (three rows; shapes
    rounded to make ties, thresholds also at an hour's exact value)."""
    rng = np.random.default_rng(seed)
    x = np.round(rng.uniform(0.0, 3.0, (3, MAX_HOURS)), decimals)
    cs = [cs[0], float(x[1, 7]), cs[2]]  # a threshold equal to an hour's shape
    p = 50.0 + 10.0 * (np.arange(MAX_HOURS) % 24)
    keys = np.sort(x, axis=1)
    order = np.argsort(x, axis=1, kind="stable")
    ps = p[order]
    stride = 2.0 * (x.max() + 1.0)
    rows = np.arange(3)[:, None] * stride

    def prefix(v):
        return np.concatenate([np.zeros((3, 1)), np.cumsum(v, axis=1)], axis=1)

    curves = DurationCurves(
        (keys + rows).ravel(),
        float(stride),
        prefix(keys),
        prefix(ps),
        prefix(ps * keys),
        0.0,
        np.ones((1, 3)),
        None,
    )
    c = np.array(cs).reshape(1, 3)
    s, sp = curves.threshold_sums(c)
    np.testing.assert_allclose(s[0], np.minimum(x, c.T).sum(axis=1), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(sp[0], (p * np.minimum(x, c.T)).sum(axis=1), rtol=1e-12, atol=1e-7)


def test_a_month_without_load_uses_nothing():
    x = np.linspace(0.5, 1.5, MAX_HOURS)[None, :]
    prefix = np.concatenate([[[0.0]], np.cumsum(x, axis=1)], axis=1)
    curves = DurationCurves(x.ravel(), 4.0, prefix, None, None, 80.0, np.full((1, 1), 600.0), None)
    out = monthly_sums(curves, np.zeros((2, 1, 1)), np.full((2, 1, 1), 10.0), np.zeros((2, 1, 1)), *[np.ones(1)] * 4)
    assert all(float(np.abs(v).sum()) == 0.0 for v in out.values())
