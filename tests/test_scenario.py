"""Scenario validation: good files parse with units converted; bad files list every problem with its path."""

from __future__ import annotations

import copy

import pytest

from fab2token.errors import ScenarioError
from fab2token.scenario import load_scenario, month_label, month_number, parse_scenario


def _issues(data, write_yaml) -> list:
    with pytest.raises(ScenarioError) as info:
        load_scenario(write_yaml(data))
    return info.value.issues


def test_small_example_parses_with_units_converted(small_path):
    sc, text = load_scenario(small_path)
    assert "horizon" in text
    assert sc.horizon.start == "2026-01" and sc.horizon.months == 24
    assert sc.sites[0].grid_power[0].mw == 20.0  # "20 MW"
    assert sc.economics.electricity_usd_per_mwh == pytest.approx(80.0)  # "0.08 USD/kWh"
    assert sc.economics.datacenter_capex_usd_per_mw == pytest.approx(11e6)  # "11 MUSD/MW"
    assert sc.accelerator_spec()["name"] == "H100-SXM"  # alias "H100"


def test_quantities_convert_from_other_units(small_dict, write_yaml):
    d = copy.deepcopy(small_dict)
    d["sites"][0]["grid_power"][0]["mw"] = "20000 kW"
    d["economics"]["electricity_usd_per_mwh"] = "80 USD/MWh"
    d["sites"][0]["land_acres"] = "1 km^2"
    sc, _ = load_scenario(write_yaml(d))
    assert sc.sites[0].grid_power[0].mw == pytest.approx(20.0)
    assert sc.economics.electricity_usd_per_mwh == pytest.approx(80.0)
    assert sc.sites[0].land_acres == pytest.approx(247.105, rel=1e-4)


def test_month_numbers_round_trip():
    assert month_label(month_number("2026-12")) == "2026-12"
    assert month_number("2027-01") - month_number("2026-12") == 1


def test_missing_field_names_its_path(small_dict, write_yaml):
    d = copy.deepcopy(small_dict)
    del d["sites"][1]["pue"]
    (issue,) = _issues(d, write_yaml)
    assert issue.path == "sites[1].pue"
    assert "required" in issue.expected


def test_wrong_unit_names_field_value_and_expected_unit(small_dict, write_yaml):
    d = copy.deepcopy(small_dict)
    d["sites"][1]["grid_power"][0]["mw"] = "30 kg"
    (issue,) = _issues(d, write_yaml)
    assert issue.path == "sites[1].grid_power[0].mw"
    assert issue.value == "30 kg"
    assert "MW" in issue.expected


def test_negative_power_is_rejected(small_dict, write_yaml):
    d = copy.deepcopy(small_dict)
    d["sites"][0]["grid_power"][1]["mw"] = -5
    (issue,) = _issues(d, write_yaml)
    assert issue.path == "sites[0].grid_power[1].mw"
    assert issue.value == -5
    assert "greater than or equal to 0" in issue.expected


def test_unknown_accelerator_lists_the_catalog(small_dict, write_yaml):
    d = copy.deepcopy(small_dict)
    d["supply"]["accelerator"] = "H900"
    (issue,) = _issues(d, write_yaml)
    assert issue.path == "supply.accelerator"
    assert issue.value == "H900"
    assert "H100-SXM" in issue.expected and "MI300X" in issue.expected


def test_malformed_yaml_reports_line(write_yaml):
    (issue,) = _issues("horizon: {start: 2026-01\nsupply: [\n", write_yaml)
    assert issue.path.startswith("line ")
    assert "YAML" in issue.expected


def test_dates_out_of_order(small_dict, write_yaml):
    d = copy.deepcopy(small_dict)
    d["sites"][0]["grid_power"] = [{"from": "2026-10", "mw": 40}, {"from": "2026-01", "mw": 20}]
    (issue,) = _issues(d, write_yaml)
    assert issue.path == "sites[0].grid_power[1].from"
    assert "increasing" in issue.expected


def test_bad_month_format(small_dict, write_yaml):
    d = copy.deepcopy(small_dict)
    d["horizon"]["start"] = "Jan 2026"
    (issue,) = _issues(d, write_yaml)
    assert issue.path == "horizon.start" and "YYYY-MM" in issue.expected


def test_every_problem_is_listed_at_once(small_dict, write_yaml):
    d = copy.deepcopy(small_dict)
    d["sites"][0]["pue"] = 0.5
    d["economics"]["accelerator_price_usd"] = "a lot"
    d["horizon"]["surprise"] = 1
    paths = {i.path for i in _issues(d, write_yaml)}
    assert paths == {"sites[0].pue", "economics.accelerator_price_usd", "horizon.surprise"}


def test_duplicate_site_names(small_dict, write_yaml):
    d = copy.deepcopy(small_dict)
    d["sites"][1]["name"] = d["sites"][0]["name"]
    (issue,) = _issues(d, write_yaml)
    assert issue.path == "sites[1].name" and "unique" in issue.expected


def test_catalog_override_checks_columns(small_dict, write_yaml):
    d = copy.deepcopy(small_dict)
    d["catalog"] = {"accelerators": {"H100": {"board_pwr_w": 650}}}
    (issue,) = _issues(d, write_yaml)
    assert issue.path == "catalog.accelerators.H100.board_pwr_w"
    assert "board_power_w" in issue.expected


def test_catalog_override_applies(small_dict, write_yaml):
    d = copy.deepcopy(small_dict)
    d["catalog"] = {"accelerators": {"H100": {"board_power_w": 650}}}
    sc, _ = load_scenario(write_yaml(d))
    assert sc.accelerator_spec()["board_power_w"] == 650


def test_new_accelerator_can_be_defined(small_dict, write_yaml):
    d = copy.deepcopy(small_dict)
    d["catalog"] = {
        "accelerators": {
            "MyChip": {
                "board_power_w": 500,
                "compute_die_area_mm2": 400,
                "compute_dies": 1,
                "process_node": "N3",
                "hbm_stacks": 8,
                "hbm_gb": 192,
                "hbm_tb_per_s": 8.0,
                "dense_bf16_flop_per_s": 2.0e15,
            }
        }
    }
    d["supply"]["accelerator"] = "MyChip"
    sc, _ = load_scenario(write_yaml(d))
    assert sc.accelerator_spec()["source"] == "scenario"
    assert sc.process_node_spec()["node"] == "N3"


def test_missing_file_is_a_scenario_error(tmp_path):
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "nope.yaml")
    assert "nope.yaml" in str(info.value)


def test_top_level_must_be_a_mapping():
    with pytest.raises(ScenarioError) as info:
        parse_scenario("- just\n- a list\n", "x.yaml")
    assert "mapping" in info.value.issues[0].expected


def test_unknown_field_suggests_the_closest_field_of_its_section(small_dict, write_yaml):
    d = copy.deepcopy(small_dict)
    d["sites"][0]["grid_powr"] = d["sites"][0].pop("grid_power")
    d["horizon"]["zzz"] = 1
    with pytest.raises(ScenarioError) as info:
        load_scenario(write_yaml(d))
    by_path = {i.path: i.expected for i in info.value.issues}
    assert by_path["sites[0].grid_powr"] == "unknown field: did you mean grid_power?"
    assert by_path["horizon.zzz"] == "unknown field: the fields here are start, months"
