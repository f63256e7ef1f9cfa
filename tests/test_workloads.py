"""Workloads on the installed fleet: training runs scheduled in order, inference on what is left."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml

from fab2token import catalog
from fab2token.engine.simulate import simulate, summarise
from fab2token.errors import ScenarioError
from fab2token.scenario import load_scenario, parse_scenario

BASE = """
horizon: {start: 2026-01, months: 12}
supply: {accelerator: H100, wafer_starts: [{from: 2025-10, wafers_per_month: 100}], d0_per_cm2: 0.1}
sites:
  - {name: a, grid_power: [{from: 2026-01, mw: 50}], cooling: liquid, pue: 1.25, land_acres: 10,
     construction_start: 2025-01, construction_months: 0}
economics: {accelerator_price_usd: 1, electricity_usd_per_mwh: 1, datacenter_capex_usd_per_mw: 1}
"""


def _scenario(workloads: dict):
    data = yaml.safe_load(BASE)
    data["workloads"] = workloads
    return parse_scenario(yaml.safe_dump(data))


def test_run_waits_for_enough_installed_accelerators():
    sc = _scenario(
        {
            "training": [
                {
                    "name": "r",
                    "model": "llama-3-8b",
                    "tokens": 1e12,
                    "accelerators": 8000,
                    "start": "2026-01",
                    "mfu": 0.4,
                }
            ]
        }
    )
    ds = simulate(sc)
    installed = ds["accelerators_installed"].sum("site").values
    run = summarise(ds).training_runs[0]
    first = int(np.argmax(installed >= 8000))
    assert run["status"] == "scheduled" and run["start"] == str(ds["month"].values[first])
    active = ds["training_active"].sel(run="r").values
    assert np.all(installed[active > 0] >= 8000)
    assert active.sum() == run["months_needed"]


def test_runs_in_order_do_not_overbook_the_fleet():
    runs = [
        {"name": f"r{i}", "model": "llama-3-8b", "tokens": 3e12, "accelerators": 6000, "start": "2026-01", "mfu": 0.4}
        for i in range(3)
    ]
    ds = simulate(_scenario({"training": runs}))
    installed = ds["accelerators_installed"].sum("site").values
    assert np.all(ds["training_accelerators"].values <= installed + 1e-9)


def test_run_that_never_fits_is_reported():
    sc = _scenario(
        {
            "training": [
                {
                    "name": "huge",
                    "model": "llama-3-8b",
                    "tokens": 1e12,
                    "accelerators": 50_000,
                    "start": "2026-01",
                    "mfu": 0.4,
                }
            ]
        }
    )
    run = summarise(simulate(sc)).training_runs[0]
    assert run["status"] == "does not fit in the horizon" and run["start"] is None


def test_run_that_cannot_progress_is_reported_not_raised():
    # 10 million accelerators fail every ~18 s: faster than a checkpoint + restart cycle
    sc = _scenario(
        {
            "training": [
                {
                    "name": "wall",
                    "model": "llama-3-8b",
                    "tokens": 1e12,
                    "accelerators": 10**7,
                    "start": "2026-01",
                    "mfu": 0.4,
                }
            ]
        }
    )
    run = summarise(simulate(sc)).training_runs[0]
    assert run["status"].startswith("cannot run: no forward progress")


def test_inference_served_within_demand_and_capacity():
    sc = _scenario(
        {
            "inference": {
                "model": "llama-3-8b",
                "precision": "fp8",
                "demand": [{"from": "2026-01", "tokens_per_s": 1e6}, {"from": "2026-06", "tokens_per_s": 1e9}],
            }
        }
    )
    ds = simulate(sc)
    served, demand = ds["inference_served_tokens_per_s"].values, ds["inference_demand_tokens_per_s"].values
    cap = ds["inference_capacity_tokens_per_s"].values
    assert np.all(served <= demand + 1e-6) and np.all(served <= cap + 1e-6)
    np.testing.assert_allclose(served + ds["inference_unmet_tokens_per_s"].values, demand)
    assert ds["inference_unmet_tokens_per_s"].values[-1] > 0  # 1e9 tokens/s is far above this fleet


def test_unknown_workload_model_is_a_validation_error(small_dict, write_yaml):
    d = copy.deepcopy(small_dict)
    d["workloads"]["training"][0]["model"] = "gpt-9"
    with pytest.raises(ScenarioError) as info:
        load_scenario(write_yaml(d))
    assert info.value.issues[0].path == "workloads.training[0].model"


def test_scenario_can_override_the_serving_engine_efficiency():
    inference = {
        "model": "llama-3-8b",
        "precision": "fp8",
        "tpot_ms": 1e6,  # no latency bound: capacity scales exactly with the engine efficiency
        "ttft_ms": 1e9,
        "demand": [{"from": "2026-01", "tokens_per_s": 1e9}],
    }
    default = simulate(_scenario({"inference": inference}))["inference_capacity_tokens_per_s"].values
    data = yaml.safe_load(BASE)
    data["workloads"] = {"inference": inference}
    data["catalog"] = {"overheads": {"serving_engine_efficiency_frac": {"value": 1.0}}}
    bare = simulate(parse_scenario(yaml.safe_dump(data)))["inference_capacity_tokens_per_s"].values
    frac = catalog.overhead("serving_engine_efficiency_frac")
    assert bare[-1] > 0
    np.testing.assert_allclose(default, bare * frac, rtol=1e-9)
