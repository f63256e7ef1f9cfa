"""Class 7: ``validate`` fails exactly when ``run`` fails.

For each scenario below, "validate" is :func:`fab2token.scenario.parse_scenario` (every check) and "run" is the
engine, :func:`fab2token.engine.simulate.simulate`, on the same data built without the load-time checks
(``Scenario.model_validate``): whatever the engine stops on, validation must already report, and a scenario the
checks pass must run. Each bad case has a repaired twin that both accept, so the checks are not merely strict.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from fab2token.engine.simulate import simulate
from fab2token.errors import Fab2TokenError, ScenarioError
from fab2token.scenario import parse_scenario
from fab2token.scenario.models import Scenario
from tests.hostile.scenario_support import cli, small, write

Case = Callable[[dict[str, Any], Path], None]


def _fabline(result: dict[str, Any] | None) -> Case:
    def mutate(d: dict[str, Any], tmp: Path) -> None:
        path = tmp / "fl.json"
        if result is not None:
            path.write_text(json.dumps(result))
        d["supply"]["fab"]["fabline_result"] = str(path)  # absolute: the engine and the checks read the same file
        d["supply"]["fab"]["fabline_order"] = "Lot_3"

    return mutate


def _new_chip(**fields: Any) -> Case:
    """supply.accelerator is a chip the scenario defines; small.yaml's HBM supply and inference stay."""

    def mutate(d: dict[str, Any], tmp: Path) -> None:
        d["catalog"] = {"accelerators": {"MyChip": fields}}
        d["supply"]["accelerator"] = "MyChip"

    return mutate


_CHIP = {
    "board_power_w": 700,
    "compute_die_area_mm2": 800,
    "compute_dies": 1,
    "process_node": "N4",
    "hbm_stacks": 5,
    "dense_bf16_flop_per_s": 9e14,
    "dense_fp8_flop_per_s": 1.8e15,
    "hbm_gb": 80,
    "hbm_tb_per_s": 3.3,
}
_RESULT = {"days": 365.25, "cycle_time_days_mean": {"Lot_3": 61.0}, "lots_completed": {"Lot_3": 240}}


def _drop(field: str) -> dict[str, Any]:
    return {k: v for k, v in _CHIP.items() if k != field}


def _packaging_without_interposer(d: dict[str, Any], tmp: Path) -> None:
    _new_chip(**_CHIP)(d, tmp)  # MyChip publishes no interposer area, and the scenario gives none
    del d["supply"]["packaging"]["interposer_area_mm2"]


def _node_without_d0(d: dict[str, Any], tmp: Path) -> None:
    _new_chip(**{**_CHIP, "process_node": "N9"})(d, tmp)  # a new node that publishes no defect density
    d["catalog"]["process_nodes"] = {"N9": {"reticle_limit_mm2": 858, "wafer_price_usd": 20000}}


def _fleet_type_without_power(d: dict[str, Any], tmp: Path) -> None:
    d["catalog"] = {"accelerators": {"Rented": {"dense_bf16_flop_per_s": 1e15, "hbm_gb": 96, "hbm_tb_per_s": 4}}}
    order = {"from": "2026-03", "per_month": 100}
    d["fleet"] = [{"accelerator": "Rented", "market": {"price_usd": 20000, "orders": [order]}}]


def _inference_model_without_heads(d: dict[str, Any], tmp: Path) -> None:
    d["catalog"] = {
        "models": {
            "my-model": {
                "params_total": 7e9,
                "params_active": 7e9,
                "layers": 32,
                "hidden": 4096,
                "vocab": 32000,
                "context": 8192,
            }
        }
    }
    d["workloads"]["inference"]["model"] = "my-model"


def _own_design_without_die(d: dict[str, Any], tmp: Path) -> None:
    chip = _drop("compute_die_area_mm2")
    d["catalog"] = {"accelerators": {"Own": chip}}
    d["fleet"] = [
        {
            "accelerator": "Own",
            "price_usd": 9000,
            "supply": {"fab": {"wafer_starts": [{"from": "2026-01", "wafers_per_month": 10}]}},
        }
    ]


def _training(**fields: Any) -> Case:
    def mutate(d: dict[str, Any], tmp: Path) -> None:
        d["workloads"]["training"][0].update(fields)

    return mutate


def _inference_tp(tp: int) -> Case:
    def mutate(d: dict[str, Any], tmp: Path) -> None:
        d["workloads"]["inference"]["tp"] = tp

    return mutate


BAD: dict[str, Case] = {
    "missing_fabline_result": _fabline(None),
    "packaging_without_interposer_area": _packaging_without_interposer,
    "accelerator_without_die_area": _new_chip(**_drop("compute_die_area_mm2"), interposer_area_mm2=2000),
    "accelerator_without_process_node": _new_chip(**_drop("process_node"), interposer_area_mm2=2000),
    "die_beyond_the_reticle": _new_chip(**{**_CHIP, "compute_die_area_mm2": 900}),
    "hbm_supply_without_stacks_per_accelerator": _new_chip(**_drop("hbm_stacks")),
    "process_node_without_d0": _node_without_d0,
    "fleet_type_without_power": _fleet_type_without_power,
    "inference_on_a_chip_without_hbm_figures": _new_chip(**_drop("hbm_tb_per_s")),
    "inference_model_without_heads": _inference_model_without_heads,
    "own_design_without_die_area": _own_design_without_die,
    "training_tp_not_dividing_the_heads": _training(tp=3),
    "training_pp_beyond_the_layers": _training(pp=81),
    "training_run_smaller_than_one_replica": _training(accelerators=8, tp=8, pp=2),
    "inference_tp_not_dividing_the_heads": _inference_tp(3),
}


def _repaired(name: str) -> Case:
    """The same scenario with the missing figure supplied."""
    repairs: dict[str, Case] = {
        "missing_fabline_result": _fabline(_RESULT),
        "packaging_without_interposer_area": _new_chip(**_CHIP, interposer_area_mm2=2000),
        "accelerator_without_die_area": _new_chip(**_CHIP, interposer_area_mm2=2000),
        "accelerator_without_process_node": _new_chip(**_CHIP, interposer_area_mm2=2000),
        "die_beyond_the_reticle": _new_chip(**{**_CHIP, "compute_die_area_mm2": 800}),
        "hbm_supply_without_stacks_per_accelerator": _new_chip(**_CHIP),
        "process_node_without_d0": lambda d, t: (_node_without_d0(d, t), d["supply"]["fab"].update(d0_per_cm2=0.1)),
        "fleet_type_without_power": lambda d, t: (
            _fleet_type_without_power(d, t),
            d["catalog"]["accelerators"]["Rented"].update(board_power_w=700),
        ),
        "inference_on_a_chip_without_hbm_figures": _new_chip(**_CHIP),
        "inference_model_without_heads": lambda d, t: (
            _inference_model_without_heads(d, t),
            d["catalog"]["models"]["my-model"].update(heads=32),
        ),
        "training_tp_not_dividing_the_heads": _training(tp=4),
        "training_pp_beyond_the_layers": _training(pp=8),
        "training_run_smaller_than_one_replica": _training(accelerators=16, tp=8, pp=2),
        "inference_tp_not_dividing_the_heads": _inference_tp(4),
        "own_design_without_die_area": lambda d, t: (
            _own_design_without_die(d, t),
            d["catalog"]["accelerators"]["Own"].update(compute_die_area_mm2=600, interposer_area_mm2=1500),
        ),
    }
    return repairs[name]


def _outcomes(d: dict[str, Any], file: Path) -> tuple[str | None, str | None]:
    """(validate's error, run's error); None where it passed. Run bypasses the load-time checks."""
    validate = run = None
    try:
        parse_scenario(yaml.safe_dump(d, sort_keys=False), str(file))
    except ScenarioError as exc:
        validate = str(exc)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            simulate(Scenario.model_validate(d))
    except Fab2TokenError as exc:
        run = f"{type(exc).__name__}: {exc}"
    return validate, run


@pytest.mark.parametrize("name", sorted(BAD))
def test_validate_parity_bad_scenario_fails_validate_as_it_fails_run(tmp_path, name):
    d = small()
    BAD[name](d, tmp_path)
    validate, run = _outcomes(d, tmp_path / "scenario.yaml")
    assert run is not None, f"{name}: the engine accepts it, so this case tests nothing"
    assert validate is not None, f"{name}: validate passed what run refuses ({run})"


@pytest.mark.parametrize("name", sorted(BAD))
def test_validate_parity_repaired_scenario_passes_both(tmp_path, name):
    d = small()
    _repaired(name)(d, tmp_path)
    validate, run = _outcomes(d, tmp_path / "scenario.yaml")
    assert validate is None and run is None, (validate, run)


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("missing_fabline_result", "supply.fab.fabline_result"),
        ("packaging_without_interposer_area", "supply.packaging.interposer_area_mm2"),
        ("accelerator_without_die_area", "compute_die_area_mm2"),
        ("die_beyond_the_reticle", "catalog.accelerators.MyChip.compute_die_area_mm2"),
        ("hbm_supply_without_stacks_per_accelerator", "supply.hbm.stacks_per_accelerator"),
        ("process_node_without_d0", "supply.fab.d0_per_cm2"),
        ("fleet_type_without_power", "fleet[0].accelerator"),
        ("inference_model_without_heads", "catalog.models.my-model.heads"),
        ("own_design_without_die_area", "fleet[0].supply.accelerator"),
    ],
)
def test_validate_parity_cli_validate_exits_2_naming_the_field(tmp_path, name, field):
    d = small()
    BAD[name](d, tmp_path)
    code, text = cli("validate", str(write(tmp_path, d)))
    assert code == 2
    assert field in " ".join(text.split())


def test_validate_parity_every_bundled_example_passes_both():
    from tests.conftest import EXAMPLES
    from tests.test_examples import SCENARIOS

    for name in SCENARIOS:
        d = yaml.safe_load((EXAMPLES / name).read_text())
        validate, run = _outcomes(d, EXAMPLES / name)
        assert validate is None and run is None, (name, validate, run)


def test_validate_parity_run_uses_the_fabline_figures_validation_read(tmp_path):
    d = small()
    _fabline(_RESULT)(d, tmp_path)
    sc = parse_scenario(yaml.safe_dump(d), str(tmp_path / "scenario.yaml"))
    ct, lots, days = sc.supply.fab.fabline_figures()
    assert (ct, lots, days) == (61.0, 240.0, 365.25)
    assert math.isclose(lots * 25 / days * 365.25 / 12, 500.0)  # the capacity the engine derives: 500 wafers/month


def test_validate_parity_inference_precision_the_fleet_lacks(tmp_path):
    d = small()
    d["supply"]["accelerator"] = "A100"
    d["workloads"]["inference"]["precision"] = "fp8"
    validate, run = _outcomes(d, tmp_path / "scenario.yaml")
    assert run is not None and validate is not None
    assert "workloads.inference.precision" in validate and "A100" in validate
    d["workloads"]["inference"]["precision"] = "bf16"
    assert _outcomes(d, tmp_path / "scenario.yaml") == (None, None)


def test_validate_parity_precisions_override_lists_known_formats(tmp_path):
    d = small()
    d["catalog"] = {"accelerators": {"H100": {"precisions": "bf16;fp9"}}}
    validate, _ = _outcomes(d, tmp_path / "scenario.yaml")
    assert validate is not None and "catalog.accelerators.H100.precisions" in validate
