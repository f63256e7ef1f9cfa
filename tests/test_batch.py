"""The engine on a batch of draws (:mod:`fab2token.engine.batch`): every draw of a batch equals that draw run alone,
bit for bit, whatever the draws change (supply, grid dates, weather, tariff, battery, PPA, curtailment, a mixed
fleet's market orders); draws that cannot share a chain fall back to one chain each; draws of another structure are
refused."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from fab2token.deploy.fleet import whole_units
from fab2token.engine.batch import run_batch, stack_supply
from fab2token.engine.simulate import draw_dataset, simulate
from fab2token.engine.variables import batch_variables
from fab2token.errors import ModelError
from fab2token.scenario.draws import draw_scenario, draw_values, read_sweep_scenario
from fab2token.scenario.load import parse_scenario
from fab2token.scenario.timeline import month_axis
from fab2token.supply import chain as supplychain
from fab2token.sweep.execute import sweep_values

ROOT = Path(__file__).resolve().parents[1]


def _draws(data: dict, n: int, seed: int = 3) -> list:
    text = yaml.safe_dump(data)
    ss = read_sweep_scenario(text, "batch.yaml")
    values = sweep_values(ss, n, seed, "random")
    return [draw_scenario(ss, draw_values(values, k), k) for k in range(n)]


def _rich() -> dict:
    """uncertain.yaml with a battery, solar, a PPA and a curtailment at alpha, and its weather and tariff drawn."""
    data = yaml.safe_load((ROOT / "examples" / "uncertain.yaml").read_text())
    alpha = data["sites"][0]
    alpha.update(
        solar_mw=[{"from": "2026-06", "mw": 5}],
        battery_mw=4,
        battery_mwh=16,
        ppa_mw=3,
        ppa_usd_per_mwh=60,
        curtailments=[{"start": "2026-07-15 14:00", "hours": 6, "mw": 10, "credit_usd_per_mwh": 200}],
        pue={"dist": "uniform", "low": 1.15, "high": 1.25},
        wue_per_degree_c=0.01,
        wue_reference_wet_bulb_c=18,
    )
    data["economics"]["electricity_usd_per_mwh"] = {"dist": "triangular", "low": 60, "mode": 80, "high": 120}
    data["economics"]["electricity_peak_usd_per_mwh"] = 140
    data["economics"]["peak_hours"] = [16, 21]
    return data


def _assert_each_draw_alone(scs: list) -> None:
    b = run_batch(scs)
    variables = batch_variables(b)
    for k, sc in enumerate(scs):
        xr.testing.assert_identical(draw_dataset(b, variables, k), simulate(sc))


def test_each_draw_of_a_batch_equals_the_draw_run_alone():
    scs = _draws(_rich(), 5)
    assert len({float(sc.economics.electricity_usd_per_mwh) for sc in scs}) == 5  # five tariffs: five groups
    assert len({sc.sites[0].pue for sc in scs}) == 5  # five climates
    _assert_each_draw_alone(scs)


def test_draws_sharing_tariff_and_weather_run_side_by_side_and_equal_each_draw_alone():
    scs = _draws(yaml.safe_load((ROOT / "examples" / "uncertain.yaml").read_text()), 7)
    _assert_each_draw_alone(scs)


def test_a_mixed_fleets_draws_equal_each_draw_alone():
    data = yaml.safe_load((ROOT / "examples" / "mixed-fleet.yaml").read_text())
    market = next(f for f in data["fleet"] if "market" in f)["market"]
    market["lead_time_months"] = {"dist": "choice", "values": [1, 3, 6]}
    market["orders"][0]["per_month"] = {"dist": "uniform", "low": 500, "high": 1500}
    scs = _draws(data, 4)
    assert len({sc.fleet[1].market.orders[0].per_month for sc in scs if len(sc.fleet) > 1}) > 1
    _assert_each_draw_alone(scs)


def test_draws_that_cannot_share_a_chain_run_one_chain_each():
    data = yaml.safe_load((ROOT / "examples" / "small.yaml").read_text())
    scs = [parse_scenario(yaml.safe_dump(data), "a.yaml")]
    other = copy.deepcopy(data)
    other["supply"]["fab"]["yield_model"] = "poisson"
    scs.append(parse_scenario(yaml.safe_dump(other), "b.yaml"))
    axis = month_axis(scs[0].horizon.start, scs[0].horizon.months)
    with pytest.raises(ValueError, match="yield_model"):
        stack_supply([supplychain.inputs_from_scenario(sc, axis) for sc in scs])
    _assert_each_draw_alone(scs)


def test_stacked_supply_keeps_what_the_draws_agree_on_and_stacks_the_rest():
    scs = _draws(yaml.safe_load((ROOT / "examples" / "uncertain.yaml").read_text()), 3)
    axis = month_axis(scs[0].horizon.start, scs[0].horizon.months)
    inputs = [supplychain.inputs_from_scenario(sc, axis) for sc in scs]
    st = stack_supply(inputs)
    assert st.die_area_mm2 == inputs[0].die_area_mm2  # the same die in every draw: kept as it is
    assert np.shape(st.d0_per_cm2) == (3, axis.size)  # a drawn learning curve: (draw, month)
    assert np.shape(st.packaging_wafers) == (3, axis.size)  # a drawn packaging step: (draw, month)


def test_a_batch_of_another_structure_is_refused():
    data = yaml.safe_load((ROOT / "examples" / "small.yaml").read_text())
    other = copy.deepcopy(data)
    other["horizon"]["months"] = 12
    scs = [parse_scenario(yaml.safe_dump(d), "s.yaml") for d in (data, other)]
    with pytest.raises(ModelError, match="one structure"):
        run_batch(scs)


def test_whole_units_of_a_batch_are_each_rows_whole_units():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 3.3, size=(4, 30))
    np.testing.assert_array_equal(whole_units(x), np.stack([whole_units(r) for r in x]))


def test_draws_that_differ_in_needing_the_wet_bulb_run_as_their_own_groups():
    data = _rich()
    data["sites"][0]["wue_per_degree_c"] = {"dist": "choice", "values": [0.0, 0.01]}
    data["sites"][0]["pue"] = 1.2
    data["economics"]["electricity_usd_per_mwh"] = 80  # one tariff: every draw in one group but for the wet bulb
    scs = _draws(data, 6, seed=1)
    assert len({sc.sites[0].wue_per_degree_c for sc in scs}) == 2
    _assert_each_draw_alone(scs)


def test_a_chunk_run_in_several_batches_equals_one_batch(monkeypatch):
    from fab2token.sweep import execute

    text = (ROOT / "examples" / "uncertain.yaml").read_text()
    ss = read_sweep_scenario(text, "uncertain.yaml")
    values = sweep_values(ss, 7, 2, "random")
    whole = execute.simulate_chunk(ss, values, 0)
    monkeypatch.setattr(execute, "BATCH_CELLS", 3 * 2 * 24)  # three draws of 2 sites x 24 months a batch
    split = execute.simulate_chunk(ss, values, 0)
    assert whole.series.keys() == split.series.keys() and whole.outcomes.keys() == split.outcomes.keys()
    for k in whole.series:
        np.testing.assert_array_equal(whole.series[k], split.series[k])
    for k in whole.outcomes:
        np.testing.assert_array_equal(whole.outcomes[k], split.outcomes[k])
    assert (whole.binding == split.binding).all() and split.n == 7
