"""Issue 12 class 11 (and issue 17): a run at many sites x long horizons must not exhaust memory.

The hourly climate and energy steps run in blocks of months x sites (:func:`fab2token.sites.climate.block_slices`)
and never hold the whole horizon's hours: these tests show that the block size does not change the answers beyond
the last digits (blocks of 1, 5 and 12 months, several site widths, against one block spanning the whole horizon), that the
pieces kept instead of the hours (day-to-day offsets, curtailment hours) give back exactly what they replace, and that
a large-ish run stays far below what one whole-horizon array would take. Speed is measured in
``benchmarks/bench_scale.py``, never asserted here.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import json
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import yaml

from fab2token.scenario import parse_scenario
from fab2token.scenario.timeline import month_axis
from fab2token.sites import climate, energy, power
from fab2token.sites.inputs import site_inputs
from tests.conftest import EXAMPLES

ROOT = Path(__file__).resolve().parents[2]


def _data(n_sites: int, months: int, full: bool = True) -> dict:
    """``examples/small.yaml`` with ``n_sites`` sites over ``months`` months; ``full``: every hourly feature on every
    site (solar, battery, PPA, wet-bulb WUE, overlapping curtailment events, a time-of-use tariff)."""
    data = yaml.safe_load((EXAMPLES / "small.yaml").read_text())
    data["horizon"]["months"] = months
    regions = climate.climate_regions()
    sites = []
    for k in range(n_sites):
        s = copy.deepcopy(data["sites"][k % 2])
        s["name"] = f"site-{k:04d}"
        if "climate" in s:
            s["climate"] = regions[(k // 2) % len(regions)]
        else:
            s["ambient_c"] = [5.0 + 2.0 * m for m in range(12)]
            s["dew_point_c"] = [3.0] * 12
        if full:
            s.update(
                solar_mw=[{"from": "2026-01", "mw": 10}],
                battery_mw=5,
                battery_mwh=20,
                ppa_mw=5,
                ppa_usd_per_mwh=60,
                **({"ppa_shape": "solar", "ppa_capacity_factor": 0.25} if k % 3 == 0 else {}),
                wue_per_degree_c=0.05,
                wue_reference_wet_bulb_c=12,
                curtailments=[
                    {"start": "2026-07-15 18:00", "hours": 6, "mw": 15, "credit_usd_per_mwh": 100},
                    {"start": "2026-07-15 20:00", "hours": 6, "mw": 10, "credit_usd_per_mwh": 200},
                    {"start": "2026-01-31 22:00", "hours": 4, "mw": 3},
                ],
            )
        sites.append(s)
    data["sites"] = sites
    if full:
        data["economics"].update(electricity_peak_usd_per_mwh=150, peak_hours=[14, 20])
    return data


def _inputs(n_sites: int, months: int, full: bool = True):
    sc = parse_scenario(yaml.safe_dump(_data(n_sites, months, full)))
    return sc, month_axis(sc.horizon.start, months)


def _energy(sc, si, load: np.ndarray, **blocks: int | bool | None) -> energy.HourlyResult:
    """The hourly step as the simulation bills a fleet (:meth:`SiteInputs.hourly_energy`), in ``blocks``."""
    return si.hourly_energy(sc.sites, load, **blocks)


@pytest.fixture(scope="module")
def case():
    sc, axis = _inputs(9, 30)
    si = site_inputs(sc, axis)
    load = si.it_capacity_mw * np.linspace(0.3, 1.2, axis.size)[:, None]  # some months short of power
    return sc, axis, si, load


# one block spanning the whole horizon: what the hourly step computed before it ran in blocks
def _whole(sc, axis) -> dict[str, int]:
    return {"block_months": axis.size, "block_sites": len(sc.sites)}


@pytest.mark.parametrize("months, sites", [(1, None), (5, None), (12, None), (1, 2), (5, 4), (12, 7), (None, None)])
def test_class11_energy_in_blocks_equals_the_whole_horizon(case, months, sites):
    # equal to the last digit or two: the hour sums are row by row whatever the block, but the PPA's MWh produced is
    # a matrix product whose BLAS kernel (and so its order of additions) depends on the block's shape
    sc, axis, si, load = case
    whole = _energy(sc, si, load, **_whole(sc, axis), paused_by_hour=True)  # the hourly share paused kept too
    blocked = _energy(sc, si, load, block_months=months, block_sites=sites, paused_by_hour=True)
    assert whole.curtailed_mwh.sum() > 0 and whole.grid_to_battery_mwh.sum() > 0  # the features were exercised
    assert whole.paused_frac_by_hour is not None and whole.paused_frac_by_hour.max() > 0
    for f in dataclasses.fields(energy.HourlyResult):
        a, b = getattr(blocked, f.name), getattr(whole, f.name)
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=0, err_msg=f.name)


def test_class11_one_site_blocks_differ_only_in_the_last_digits(case):
    # a one-site block sums its hours pairwise (numpy's order for a contiguous axis), a wider one row by row: the
    # results agree to ~1e-14; the default blocks never leave a lone site (it joins the block before it)
    sc, axis, si, load = case
    whole = _energy(sc, si, load, **_whole(sc, axis))
    single = _energy(sc, si, load, block_months=3, block_sites=1)
    for f in dataclasses.fields(energy.HourlyResult):
        a, b = getattr(single, f.name), getattr(whole, f.name)
        if a is None and b is None:  # the hourly share paused, not asked for
            continue
        scale = max(float(np.nanmax(np.abs(b))), 1.0)
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12 * scale, err_msg=f.name)
    assert [s for _, s in climate.block_slices(2, 9, 1, 4)] == [slice(0, 4), slice(4, 9)] * 2  # 9 = 4 + 5, not 4+4+1


@pytest.mark.parametrize("months, sites", [(1, None), (5, 3), (12, 2), (None, None)])
def test_class11_climate_statistics_and_hours_in_blocks_equal_the_whole_horizon(case, months, sites):
    sc, axis, _, _ = case
    noisy = sc.sites  # climate regions with a fitted day-to-day spread, and ambient_c sites with the run's noise
    whole = climate.hourly_climate(noisy, axis, noise_c=1.5, seed=4, **_whole(sc, axis))
    blocked = climate.hourly_climate(noisy, axis, noise_c=1.5, seed=4, block_months=months, block_sites=sites)
    for f in ("pue_mean", "pue_p99", "ambient_mean_c"):
        np.testing.assert_array_equal(getattr(blocked, f), getattr(whole, f), err_msg=f)
    hours = whole.hours()
    assert hours.wet_bulb_c is not None
    for (m, s), h in blocked.blocks(months, sites):
        np.testing.assert_array_equal(h.temp_c, hours.temp_c[m, :, s])
        np.testing.assert_array_equal(h.pue, hours.pue[m, :, s])
        np.testing.assert_array_equal(h.wet_bulb_c, hours.wet_bulb_c[m, :, s])
    m_, h_, n_ = hours.pue.shape
    np.testing.assert_array_equal(blocked.pue_by_hod(), np.nanmean(hours.pue.reshape(m_, h_ // 24, 24, n_), axis=1))


def test_class11_day_to_day_offsets_redrawn_by_block_are_the_one_draw_of_the_horizon():
    axis = 2026 * 12 + np.arange(40)
    sd = np.abs(np.random.default_rng(0).normal(2.0, 1.0, (12, 5)))
    one_draw = np.random.default_rng(9).normal(0.0, 1.0, (40, 31, 5)) * sd[axis % 12][:, None, :]
    offsets = climate.DailyOffsets.draw(sd, axis, seed=9)
    np.testing.assert_array_equal(offsets.rows(), one_draw)
    np.testing.assert_array_equal(np.concatenate([offsets.rows(slice(a, a + 7)) for a in range(0, 40, 7)]), one_draw)
    assert offsets.rows(slice(40, 50)).shape == (0, 31, 5)
    assert climate.DailyOffsets.draw(np.zeros((12, 5)), axis) is None  # no spread: nothing drawn or kept


def test_class11_curtailment_hours_kept_sparse_give_back_the_dense_hours():
    sc, axis = _inputs(5, 14)
    c = power.curtailment_hours(sc.sites, axis, energy.MAX_HOURS)
    cut, credit = c.block()
    assert cut.shape == credit.shape == (14, energy.MAX_HOURS, 5)
    assert c.index.size == np.count_nonzero(cut) < cut.size / 500  # only the hours with an event are kept
    july = 6  # 2026-07: the overlapping events (from 18:00 and from 20:00 on the 15th, 6 hours each) add their cuts
    h0 = 14 * 24
    assert list(cut[july, h0 + 18 : h0 + 26, 0]) == [15, 15, 25, 25, 25, 25, 10, 10]
    assert list(credit[july, h0 + 18 : h0 + 26, 0]) == [100, 100, 200, 200, 200, 200, 200, 200]  # the later one's
    assert cut[0, 30 * 24 + 22 : 30 * 24 + 24, 0].tolist() == [3, 3] and cut[1, :2, 0].tolist() == [3, 3]
    for months, sites in [(slice(6, 8), slice(1, 4)), (slice(0, 1), slice(None)), (slice(13, 20), slice(4, 5))]:
        part = c.block(months, sites)
        np.testing.assert_array_equal(part[0], cut[months, :, sites])
        np.testing.assert_array_equal(part[1], credit[months, :, sites])


def test_class11_hourly_step_never_holds_a_whole_horizon_array():
    # 400 sites x 24 months: one (month, 744, site) float array of the horizon is 57 MB; the whole hourly step
    # (climate, its statistics, dispatch, bills) here peaks at about half of that, where it held ~10 such arrays
    sc, axis = _inputs(400, 24)
    whole_array = axis.size * energy.MAX_HOURS * len(sc.sites) * 8
    tracemalloc.start()
    try:
        si = site_inputs(sc, axis)
        res = _energy(sc, si, si.it_capacity_mw * 0.8)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert np.isfinite(res.facility_energy_mwh).all() and res.facility_energy_mwh.sum() > 0
    assert peak < 0.75 * whole_array, f"peak {peak / 1e6:.0f} MB; one whole-horizon array is {whole_array / 1e6:.0f} MB"


def test_class11_a_run_at_200_sites_and_eight_years_stays_small():
    # a fresh interpreter, so its peak RSS is this run's (VmHWM: ru_maxrss would carry pytest's own peak over the
    # exec): 200 sites x 96 months held ~470 MB above the imports before the blocks (the whole horizon's hours were
    # 114 MB per quantity); now ~40 MB
    script = textwrap.dedent(
        f"""
        import json, sys
        sys.path.insert(0, {str(ROOT)!r})
        from fab2token.engine.simulate import simulate
        from fab2token.scenario import parse_scenario
        from tests.hostile.test_scale import _data, peak_rss_mb
        import yaml
        before = peak_rss_mb()
        ds = simulate(parse_scenario(yaml.safe_dump(_data(200, 96, full=False))))
        print(json.dumps({{"before_mb": before, "peak_mb": peak_rss_mb(), "energy": float(ds["energy_mwh"].sum())}}))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["energy"] > 0
    assert r["peak_mb"] - r["before_mb"] < 200, r


def peak_rss_mb() -> float:
    """This process's peak resident memory [MB]: VmHWM where /proc has it (reset by exec), else ru_maxrss."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def test_class11_hourly_functions_are_short():
    for module in (energy, climate, power):
        path = Path(module.__file__)
        text = path.read_text()
        assert text.count("\n") <= 500, path.name
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef):
                assert node.end_lineno - node.lineno + 1 < 80, f"{path.name}:{node.name}"
