"""The HTML report is self-contained: plotly.js inlined (compressed, fab2token.io.charts), no external script or
stylesheet."""

from __future__ import annotations

import re

import pytest

from fab2token.engine.simulate import simulate, summarise
from fab2token.io.report import render_report
from fab2token.scenario import load_scenario


def test_report_is_self_contained_and_has_the_figures():
    from tests.conftest import EXAMPLES

    sc, _ = load_scenario(EXAMPLES / "small.yaml")
    ds = simulate(sc)
    page = render_report(ds, summarise(ds, "r1").to_dict())
    assert not re.search(r"<script[^>]+src=", page, flags=re.I)
    assert not re.search(r"<link[^>]+href=[\"']https?:", page, flags=re.I)
    assert not re.search(r"src=[\"']https?://", page)
    assert page.count("Plotly.newPlot") >= 7
    for title in (
        "Accelerators delivered vs installed",
        "IT power available vs used",
        "What binds each month",
        "Cumulative capex and opex",
        "Supply funnel",
        "what each step allows",
        "Die yield over the ramp",
        "Largest training cluster",
        "and ambient temperature",
    ):
        assert title in page


def test_energy_mix_adds_up_to_the_load_and_cost_and_funnel_are_complete(tmp_path):
    # a grid-charged battery (time-of-use arbitrage) must not be counted twice in the energy stack; optics capex is
    # in the cumulative capex; the funnel shows the known-good-die test
    import numpy as np
    import yaml

    from fab2token.io.report import figures
    from fab2token.scenario import parse_scenario
    from tests.conftest import EXAMPLES

    data = yaml.safe_load((EXAMPLES / "small.yaml").read_text())
    data["economics"].update(electricity_peak_usd_per_mwh=300, peak_hours=[14, 20])
    data["sites"][0].update(battery_mw=5, battery_mwh=20, battery_round_trip_frac=0.9)
    data["supply"]["fab"]["kgd_test_yield_frac"] = 0.9
    rows = ("400g-osfp-sr4-nic", "400g-osfp-dr4-nic", "800g-osfp-2xsr4-switch", "800g-osfp-2xdr4-switch")
    data.setdefault("catalog", {})["optics"] = {r: {"price_usd": 700} for r in rows}  # a user's prices
    ds = simulate(parse_scenario(yaml.safe_dump(data)))
    site = str(ds["site"].values[0])
    assert float(ds["grid_to_battery_mwh"].sel(site=site).sum()) > 0
    figs = figures(ds)
    stack = sum(np.asarray(t.y) for t in figs["energy_mix"].data if t.name.startswith(f"{site}: "))
    np.testing.assert_allclose(stack, ds["energy_mwh"].sel(site=site).values, rtol=1e-9)
    capex = next(t for t in figs["cost"].data if t.name == "capex (cumulative)")
    total = float(ds["capex_accelerators_usd"].sum() + ds["capex_datacenter_usd"].sum() + ds["optics_capex_usd"].sum())
    assert capex.y[-1] * 1e6 == pytest.approx(total) and float(ds["optics_capex_usd"].sum()) > 0
    funnel = figs["funnel"].data[0]
    assert list(funnel.y) == ["wafers out", "gross dies", "yielding dies", "known-good dies", "accelerators"]
    assert funnel.x[3] == pytest.approx(0.9 * funnel.x[2])


def test_a_mixed_fleet_report_shows_each_type():
    from tests.conftest import EXAMPLES

    sc, _ = load_scenario(EXAMPLES / "mixed-fleet.yaml")
    ds = simulate(sc)
    page = render_report(ds, summarise(ds, "r1").to_dict())
    assert "The fleet by accelerator type" in page
    for name in ("MI300X: installed", "H100-SXM: installed", "B200: installed", "MI300X: waiting for power"):
        assert name in page


def test_the_plan_report_shows_its_status_and_schedule(tmp_path):
    from fab2token.io.plan_report import write_plan_report
    from fab2token.plan import plan
    from fab2token.scenario import parse_scenario
    from tests.conftest import EXAMPLES

    sc = parse_scenario((EXAMPLES / "plan-two-sites.yaml").read_text())
    res = plan(sc)
    page = write_plan_report(tmp_path / "plan.html", sc, res).read_text()
    assert res.status_text in page
    assert "Training schedule: accelerators per target, type and month" in page
    assert "Accelerators serving inference" in page
    run = res.schedule["training"][0]
    assert f"frontier: {run['start']} to {run['finish']}, 100% of its FLOPs" in page
    assert not re.search(r"<script[^>]+src=", page, flags=re.I)
