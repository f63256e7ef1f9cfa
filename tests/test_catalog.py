"""Catalog tables: every row carries a source; required accelerators are present."""

from __future__ import annotations

import math

import pytest

from fab2token import catalog
from fab2token.errors import CatalogError


@pytest.mark.parametrize("table", list(catalog.TABLES))
def test_every_row_has_a_source(table):
    rows = catalog.table_rows(table)
    assert rows
    for row in rows:
        assert str(row["source"]).strip(), f"{table}: {row} has no source"


def test_required_accelerators_and_columns():
    rows = {r["name"]: r for r in catalog.table_rows("accelerators")}
    assert {"H100-SXM", "H200", "B200", "GB200", "MI300X", "TPU-v5p"} <= set(rows)
    for col in (
        "dense_bf16_flop_per_s",
        "dense_fp8_flop_per_s",
        "hbm_gb",
        "hbm_tb_per_s",
        "board_power_w",
        "compute_die_area_mm2",
        "hbm_stacks",
        "process_node",
    ):
        assert col in rows["H100-SXM"]
    h100 = rows["H100-SXM"]
    assert h100["dense_bf16_flop_per_s"] == pytest.approx(989.4e12)
    assert h100["hbm_gb"] == 80 and h100["board_power_w"] == 700


def test_unknown_specs_stay_empty_not_invented():
    tpu = catalog.lookup("accelerators", "TPU v5p")
    assert math.isnan(tpu["board_power_w"]) and math.isnan(tpu["dense_fp8_flop_per_s"])


def test_lookup_by_alias_is_case_insensitive():
    assert catalog.lookup("accelerators", "h100")["name"] == "H100-SXM"


def test_unknown_name_lists_known_rows():
    with pytest.raises(CatalogError, match="MI300X"):
        catalog.lookup("accelerators", "X9000")
