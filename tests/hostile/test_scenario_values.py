"""Class 6: non-finite and impossible scenario values are refused where they are read, naming the field and the
value, and a refused ``run`` stores nothing. Every number of every section is finite and bounded (``.inf``, ``.nan``,
``1e308``), months lie in the years the tool defends, hours of the day in 0..23, geometry leaves a usable wafer,
catalog overrides are sound for their column."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from fab2token import catalog
from fab2token.errors import ScenarioError
from fab2token.scenario import parse_scenario
from fab2token.scenario.fields import MAX_COUNT, MAX_MAGNITUDE, MAX_YEAR, MIN_YEAR
from fab2token.scenario.runcheck import ZERO_ALLOWED, number_problem
from tests.hostile.scenario_support import refused, small, write

Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        keys = [int(k) if k.isdigit() else k for k in path.split(".")]
        for k in keys[:-1]:
            d = d[k]
        d[keys[-1]] = value

    return mutate


def _ambient(values: list[Any]) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        d["sites"][0].pop("climate")
        d["sites"][0]["ambient_c"] = values

    return mutate


def _override(table: str, name: str, field: str, value: Any) -> Mutation:
    return lambda d: d.setdefault("catalog", {}).setdefault(table, {}).setdefault(name, {}).update({field: value})


# (mutation, the field path the message names, the value as the message shows it)
CASES: dict[str, tuple[Mutation, str, str]] = {
    "inf_wafers": (
        _set("supply.fab.wafer_starts.0.wafers_per_month", math.inf),
        "wafer_starts[0].wafers_per_month",
        "inf",
    ),
    "nan_ambient": (_ambient([math.nan] * 12), "sites[0].ambient_c[0]", "nan"),
    "minus_inf_ambient": (_ambient([-math.inf] * 12), "sites[0].ambient_c[0]", "-inf"),
    "ambient_hotter_than_any_record": (_ambient([1e6] * 12), "sites[0].ambient_c[0]", "1000000.0"),
    "huge_finite_tokens": (_set("workloads.training.0.tokens", 1e308), "workloads.training[0].tokens", "1e+308"),
    "huge_count": (_set("workloads.training.0.accelerators", 10**20), "workloads.training[0].accelerators", "1000000"),
    "nan_pue_reference": (_set("sites.0.pue_reference_c", math.nan), "sites[0].pue_reference_c", "nan"),
    "inf_diurnal_range": (_set("sites.0.diurnal_range_c", math.inf), "sites[0].diurnal_range_c", "inf"),
    "nan_demand": (_set("workloads.inference.demand.0.tokens_per_s", math.nan), "demand[0].tokens_per_s", "nan"),
    "year_0000": (_set("horizon.start", "0000-01"), "horizon.start", "'0000-01'"),
    "year_9999": (_set("horizon.start", "9999-01"), "horizon.start", "'9999-01'"),
    "node_launch_1900": (_set("supply.fab.node_launch", "1900-01"), "supply.fab.node_launch", "'1900-01'"),
    "curtailment_year_1": (
        _set("sites.0.curtailments", [{"start": "0001-07-15 14:00", "hours": 2, "mw": 1}]),
        "sites[0].curtailments[0].start",
        "'0001-07-15 14:00'",
    ),
    "peak_hours_past_midnight": (_set("economics.peak_hours", [25, 30]), "economics.peak_hours[0]", "25"),
    "peak_hours_negative": (_set("economics.peak_hours", [-1, 20]), "economics.peak_hours[0]", "-1"),
    "peak_hours_empty_window": (_set("economics.peak_hours", [14, 14]), "economics", "empty window"),
    "edge_exclusion_beyond_radius": (_set("supply.fab.edge_exclusion_mm", 200), "supply.fab.edge_exclusion_mm", "200"),
    "packaging_edge_beyond_radius": (
        _set("supply.packaging.edge_exclusion_mm", 150),
        "supply.packaging.edge_exclusion_mm",
        "150",
    ),
    "scribe_wider_than_wafer": (_set("supply.fab.scribe_mm", 1e6), "supply.fab.scribe_mm", "1000000.0"),
    "wafer_larger_than_any_made": (_set("supply.fab.wafer_diameter_mm", 1000), "supply.fab.wafer_diameter_mm", "1000"),
    "true_as_wafers": (_set("supply.fab.wafer_starts.0.wafers_per_month", True), "wafers_per_month", "True"),
    "share_without_world_supply": (_set("supply.hbm.share_frac", 0.5), "supply.hbm", "share_frac"),
    "board_power_zero": (_override("accelerators", "H100", "board_power_w", 0), "catalog.accelerators.H100", "0"),
    "board_power_inf": (_override("accelerators", "H100", "board_power_w", math.inf), "board_power_w", "inf"),
    "die_area_negative": (_override("accelerators", "H100", "compute_die_area_mm2", -5), "compute_die_area_mm2", "-5"),
    "efficiency_above_one": (_override("accelerators", "H100", "compute_efficiency_frac", 1.5), "efficiency", "1.5"),
    "heads_zero": (_override("models", "llama-3-70b", "heads", 0), "catalog.models.llama-3-70b.heads", "0"),
    "flag_not_0_or_1": (_override("models", "llama-3-70b", "gated_mlp", 2), "gated_mlp", "2"),
    "process_node_a_number": (_override("accelerators", "H100", "process_node", 5), "process_node", "5"),
    "overhead_fraction_above_one": (
        _override("overheads", "usable_power_frac", "value", 3),
        "catalog.overheads.usable_power_frac.value",
        "3",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_scenario_value_is_refused_with_field_and_value(tmp_path, case):
    mutate, field, value = CASES[case]
    d = small()
    mutate(d)
    msg = refused(write(tmp_path, d), tmp_path)
    assert field in msg, msg
    assert f"got {value}" in msg or value in msg.split("got ", 1)[-1], msg


def test_scenario_training_target_starting_after_its_deadline_is_refused(tmp_path):
    d = small()
    d["targets"] = {
        "training": [{"name": "t", "model": "llama-3-8b", "tokens": 1e12, "deadline": "2026-06", "start": "2027-01"}]
    }
    msg = refused(write(tmp_path, d), tmp_path)
    assert "targets.training[0]" in msg and "start 2027-01 is after the deadline 2026-06" in msg


def test_scenario_months_at_the_year_bounds_are_accepted_and_beyond_refused():
    d = small()
    d["supply"]["fab"]["node_launch"] = f"{MIN_YEAR}-01"
    sc = parse_scenario(yaml.safe_dump(d), "ok.yaml")
    assert sc.supply.fab.node_launch == f"{MIN_YEAR}-01"
    d["horizon"]["start"] = f"{MAX_YEAR + 1}-01"
    with pytest.raises(ScenarioError) as info:
        parse_scenario(yaml.safe_dump(d), "late.yaml")
    (issue,) = info.value.issues
    assert issue.path == "horizon.start" and f"{MIN_YEAR}..{MAX_YEAR}" in issue.expected


def test_scenario_every_nonfinite_float_field_is_refused_by_one_rule():
    """Not one field at a time: the shared base model refuses inf/nan in every section, lists included."""
    d = small()
    d["sites"][1]["wue_l_per_kwh"] = math.nan
    d["economics"]["it_utilisation_frac"] = math.nan
    d["supply"]["hbm"]["price_usd_per_stack"] = math.inf
    d["supply"]["fab"]["clustering_alpha"] = math.inf
    with pytest.raises(ScenarioError) as info:
        parse_scenario(yaml.safe_dump(d), "nf.yaml")
    paths = {i.path for i in info.value.issues}
    assert {
        "sites[1].wue_l_per_kwh",
        "economics.it_utilisation_frac",
        "supply.hbm.price_usd_per_stack",
        "supply.fab.clustering_alpha",
    } <= paths


def test_scenario_bounds_are_generous_for_real_magnitudes():
    """A frontier training target (~1e26 FLOPs) and a 10**15 count are inside the bounds."""
    assert 1e26 < MAX_MAGNITUDE and 10**15 < MAX_COUNT
    d = small()
    d["workloads"]["training"][0]["tokens"] = 1e20
    sc = parse_scenario(yaml.safe_dump(d), "big.yaml")
    assert sc.workloads.training[0].tokens == 1e20


def test_scenario_shipped_catalog_satisfies_the_override_rules():
    """The rules for overrides (above 0 unless the column may be 0, fractions <= 1, flags 0/1) hold for every shipped
    value, so they refuse only what the catalog itself would never hold."""
    for table in catalog.TABLES:
        key = catalog.TABLES[table]
        for row in catalog.table_rows(table):
            for column in catalog.numeric_columns(table):
                value = row[column]
                if isinstance(value, float) and math.isnan(value):
                    continue  # not published
                assert number_problem(table, row[key], column, value) is None, (table, row[key], column, value)
    assert all(set(cols) <= set(catalog.numeric_columns(t)) for t, cols in ZERO_ALLOWED.items())
