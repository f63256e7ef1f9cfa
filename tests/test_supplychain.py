"""The supply chain: storable dies and HBM, perishable packaging, the limiting step, costs."""

from __future__ import annotations

import numpy as np
import pytest

from fab2token.api import SUPPLY_KEYS, supply_lookup
from fab2token.errors import ModelError, ScenarioError
from fab2token.supply.chain import assemble, fab_ramp_fraction


def test_assemble_without_limits_passes_dies_through():
    dies = np.array([5.0, 0.0, 7.0])
    got, lim = assemble(dies, None, None)
    np.testing.assert_allclose(got, dies)
    assert list(lim) == ["wafers"] * 3


def test_packaging_limit_banks_dies_for_later_months():
    dies = np.array([10.0, 10.0, 0.0, 0.0])
    pkg = np.array([6.0, 6.0, 6.0, 6.0])
    got, lim = assemble(dies, pkg, None)
    # 10+10 dies, 6 packaged a month: 6, 6, 6, then the last 2 of the bank
    np.testing.assert_allclose(got, [6, 6, 6, 2])
    assert list(lim) == ["packaging", "packaging", "packaging", "wafers"]


def test_idle_packaging_capacity_is_lost():
    dies = np.array([0.0, 0.0, 30.0])
    pkg = np.array([10.0, 10.0, 10.0])
    got, lim = assemble(dies, pkg, None)
    np.testing.assert_allclose(got, [0, 0, 10])
    assert list(lim) == ["wafers", "wafers", "packaging"]


def test_hbm_limit_and_inventory():
    dies = np.array([10.0, 10.0, 10.0])
    hbm = np.array([4.0, 4.0, 40.0])
    got, lim = assemble(dies, None, hbm)
    np.testing.assert_allclose(got, [4, 4, 22])
    assert list(lim) == ["hbm", "hbm", "wafers"]


def test_assemble_is_vectorised_over_draws():
    rng = np.random.default_rng(0)
    dies, pkg, hbm = (rng.uniform(0, 10, (100, 36)) for _ in range(3))
    got, lim = assemble(dies, pkg, hbm)
    assert got.shape == lim.shape == (100, 36)
    for i in (0, 57):  # equals the month-by-month recurrence
        bank_d = bank_h = 0.0
        for t in range(36):
            bank_d += dies[i, t]
            bank_h += hbm[i, t]
            a = min(pkg[i, t], bank_d, bank_h)
            bank_d -= a
            bank_h -= a
            assert got[i, t] == pytest.approx(a, abs=1e-9)


def test_fab_ramp_fraction():
    f = fab_ramp_fraction(np.arange(8), build_months=3, ramp_months=4)
    np.testing.assert_allclose(f, [0, 0, 0, 0.25, 0.5, 0.75, 1, 1])
    np.testing.assert_allclose(fab_ramp_fraction(np.arange(3), 1, 0), [0, 1, 1])


def _section(**fab):
    return {
        "accelerator": "H100",
        "fab": {"wafer_starts": [{"from": "2026-01", "wafers_per_month": 1000}], "cycle_time_months": 0, **fab},
    }


def test_lookup_keys_and_wafer_limited_output():
    res = supply_lookup(_section(), months=6)
    assert set(SUPPLY_KEYS) <= set(res)
    assert res["gross_dies_per_wafer"] == 68
    good = res["good_dies_per_wafer"]
    assert sum(res["accelerators_per_month"]) == pytest.approx(6 * 1000 * good, abs=1)
    assert res["limiting_step_by_month"] == ["wafers"] * 6


def test_multi_die_products_need_every_die():
    one = supply_lookup(_section(), months=3, overrides={"accelerators": {"H100": {"compute_die_area_mm2": 400}}})
    two = supply_lookup(
        _section(), months=3, overrides={"accelerators": {"H100": {"compute_die_area_mm2": 400, "compute_dies": 2}}}
    )
    assert two["accelerators_total"] == pytest.approx(one["accelerators_total"] / 2, abs=2)


def test_learning_curve_raises_yield_month_by_month():
    res = supply_lookup(_section(d0_launch_per_cm2=0.4, d0_ramp_months=6), months=12)
    y = res["die_yield_by_month"]
    assert all(b > a for a, b in zip(y, y[1:], strict=False))
    assert res["accelerators_per_month"][-1] > 2 * res["accelerators_per_month"][0]


def test_packaging_and_hbm_limits_are_named():
    sec = _section()
    sec["packaging"] = {
        "capacity_wafers_per_month": [
            {"from": "2026-01", "wafers_per_month": 300},
            {"from": "2026-04", "wafers_per_month": 5000},
        ],
        "interposer_area_mm2": 2000,
    }
    sec["hbm"] = {
        "supply_stacks_per_month": [
            {"from": "2026-01", "stacks_per_month": 40000},
            {"from": "2026-04", "stacks_per_month": 50000},
        ]
    }
    res = supply_lookup(sec, months=6)
    assert res["limiting_step_by_month"][:3] == ["packaging"] * 3
    assert res["limiting_step_by_month"][3:] == ["hbm"] * 3
    got = np.array(res["accelerators_per_month"])
    # packaging capacity is per month; dies and HBM are storable, so they bound the cumulative output
    assert np.all(got <= np.array(res["units_from_packaging_by_month"]) + 1)
    for key in ("units_from_hbm_by_month", "units_from_wafers_by_month"):
        assert np.all(np.cumsum(got) <= np.cumsum(res[key]) + 1)
    assert got[3] == pytest.approx(10000 + 3 * (8000 - 7200), abs=1)  # the HBM bank is drawn down


def test_cost_per_accelerator_builds_up_from_parts():
    sec = _section(wafer_price_usd=20000)
    sec["hbm"] = {"price_usd_per_stack": 1500}
    res = supply_lookup(sec, months=1)
    b = res["cost_breakdown_usd"]
    assert b["wafer"] == pytest.approx(20000 / res["good_dies_per_wafer"])
    assert b["hbm"] == pytest.approx(5 * 1500)  # H100: 5 stacks
    assert res["cost_per_accelerator_usd"] == pytest.approx(b["wafer"] + b["hbm"])


def test_packaging_without_interposer_area_is_a_clear_error():
    sec = _section()
    sec["packaging"] = {"capacity_wafers_per_month": [{"from": "2026-01", "wafers_per_month": 300}]}
    with pytest.raises(ModelError, match="interposer_area_mm2"):
        supply_lookup(sec)


def test_bad_supply_value_names_the_field():
    with pytest.raises(ScenarioError) as info:
        supply_lookup(_section(yield_model="gauss"))
    assert info.value.issues[0].path == "supply.fab.yield_model"


def test_unknown_process_node_asks_for_it():
    with pytest.raises(ModelError, match="process_node"):
        supply_lookup(
            {"accelerator": "TPU v5p", "fab": {"wafer_starts": [{"from": "2026-01", "wafers_per_month": 1}]}},
            overrides={"accelerators": {"TPU v5p": {"compute_die_area_mm2": 600}}},
        )


def test_packaging_wafer_geometry_sets_interposers_per_wafer():
    # the packaging wafer's own diameter, edge exclusion and scribe count (they were validated and then ignored)
    from fab2token.supply.dies import die_dimensions_mm, gross_dies_per_wafer

    def per_wafer(**geometry):
        sec = _section()
        sec["packaging"] = {
            "capacity_wafers_per_month": [{"from": "2026-01", "wafers_per_month": 1}],
            "interposer_area_mm2": 2000,
            **geometry,
        }
        return supply_lookup(sec, months=1)["units_from_packaging_by_month"][0]

    w, h = die_dimensions_mm(2000.0, 1.0)
    assert per_wafer() == pytest.approx(float(gross_dies_per_wafer(w, h)))
    assert per_wafer(wafer_diameter_mm=450) == pytest.approx(float(gross_dies_per_wafer(w, h, 450.0)))
    assert per_wafer(wafer_diameter_mm=450) > 2 * per_wafer()
    assert per_wafer(edge_exclusion_mm=20, scribe_mm=2) < per_wafer()
