"""The 2026 accelerator fleet (issue 15, part 1): sourced rows, dense peaks that rise as precision falls, a
``precisions`` column consistent with the peaks, announced parts marked, and ``catalog compare``."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from fab2token import catalog
from fab2token.cli.main import app
from fab2token.errors import CatalogError

runner = CliRunner()

ROWS = {r["name"]: r for r in catalog.table_rows("accelerators")}
PEAKS = {"bf16": "dense_bf16_flop_per_s", "fp8": "dense_fp8_flop_per_s", "fp4": "dense_fp4_flop_per_s"}

FLEET_2026 = {
    "H800-SXM",
    "H20",
    "H200-NVL",
    "B300",
    "GB300",
    "MI325X",
    "MI355X",
    "TPU-v6e",
    "TPU-v7",
    "Trainium2",
    "Trainium3",
    "Gaudi-3",
    "Rubin",
    "MI455X",
}


def _known(v) -> bool:
    return isinstance(v, float) and not math.isnan(v)


def _run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_the_2026_fleet_is_catalogued_with_the_new_columns():
    assert FLEET_2026 <= set(ROWS)
    for row in ROWS.values():
        for col in ("dense_fp4_flop_per_s", "precisions", "status"):
            assert col in row, (row["name"], col)


@pytest.mark.parametrize("name", sorted(ROWS))
def test_every_row_has_a_source_naming_a_document(name):
    source = ROWS[name]["source"]
    assert source.strip(), name
    assert "http" in source, f"{name}: the source names no URL"


@pytest.mark.parametrize("name", sorted(ROWS))
def test_lower_precision_peaks_are_at_least_the_higher_ones(name):
    row = ROWS[name]
    bf16, fp8, fp4 = (row[PEAKS[p]] for p in ("bf16", "fp8", "fp4"))
    if _known(bf16) and _known(fp8):
        assert fp8 >= bf16, name
    if _known(fp8) and _known(fp4):
        assert fp4 >= fp8, name
    if _known(bf16) and _known(fp4):
        assert fp4 >= bf16, name


@pytest.mark.parametrize("name", sorted(ROWS))
def test_precisions_agree_with_the_peaks(name):
    """A part with a peak lists its precision; a part listing a precision has its peak, or an empty cell the notes
    explain."""
    row = ROWS[name]
    listed = catalog.precisions(row)
    assert listed, f"{name}: no precisions"
    assert set(listed) <= set(catalog.PRECISIONS), name
    for precision, column in PEAKS.items():
        if _known(row[column]):
            assert precision in listed, f"{name}: {column} given but {precision} not in precisions"
        elif precision in listed:
            assert precision.upper() in row["notes"], f"{name}: lists {precision} without a peak or a note"


def test_parts_without_a_format_do_not_list_it():
    for name in ("A100-SXM-80GB", "H100-SXM", "H200", "H800-SXM", "H20", "H200-NVL", "MI300X", "MI325X"):
        assert "fp4" not in catalog.precisions(ROWS[name]), name
    assert "fp8" not in catalog.precisions(ROWS["A100-SXM-80GB"])
    assert "fp4" in catalog.precisions(ROWS["B200"]) and "fp4" in catalog.precisions(ROWS["MI355X"])


def test_status_is_shipping_or_announced_and_announced_parts_say_so():
    assert {r["status"] for r in ROWS.values()} <= set(catalog.STATUSES)
    announced = {n for n, r in ROWS.items() if r["status"] == "announced"}
    assert {"Rubin", "MI455X"} <= announced
    assert {"H100-SXM", "B200", "GB300", "MI355X", "TPU-v7"}.isdisjoint(announced)
    for name in announced:
        assert "announced" in ROWS[name]["notes"].lower(), name


def test_announced_parts_leave_unpublished_cells_empty():
    rubin, mi455x = ROWS["Rubin"], ROWS["MI455X"]
    for col in ("board_power_w", "compute_die_area_mm2", "hbm_stacks"):
        assert math.isnan(rubin[col]) and math.isnan(mi455x[col]), col
    # AMD's unlabelled FP8/FP4 figures are not taken as dense
    assert math.isnan(mi455x["dense_fp8_flop_per_s"]) and math.isnan(mi455x["dense_fp4_flop_per_s"])


def test_nvidia_dense_peaks_are_half_the_with_sparsity_figures():
    # GB200 NVL72: 1,440 PFLOPS FP4 with sparsity per rack of 72; GB300 NVL72: 1,080 PFLOPS dense FP4 per rack
    assert ROWS["GB200"]["dense_fp4_flop_per_s"] == pytest.approx(1440e15 / 72 / 2)
    assert ROWS["GB300"]["dense_fp4_flop_per_s"] == pytest.approx(1080e15 / 72)
    # DGX B200: 144 PFLOPS FP4 with sparsity for 8 GPUs; H200 NVL: 1,671 BF16 / 3,341 FP8 TFLOPS with sparsity
    assert ROWS["B200"]["dense_fp4_flop_per_s"] == pytest.approx(144e15 / 8 / 2)
    assert ROWS["H200-NVL"]["dense_bf16_flop_per_s"] == pytest.approx(1671e12 / 2)
    assert ROWS["H200-NVL"]["dense_fp8_flop_per_s"] == pytest.approx(3341e12 / 2)
    for name, row in ROWS.items():
        if row["vendor"] == "NVIDIA" and row["status"] == "shipping":
            assert "dense" in row["notes"].lower(), name


def test_process_nodes_are_catalogued_nodes():
    nodes = set(catalog.load_table("process_nodes"))
    for name, row in ROWS.items():
        assert row["process_node"] == "" or row["process_node"] in nodes, (name, row["process_node"])


def test_aliases_resolve_to_the_new_rows():
    for alias, name in (
        ("Ironwood", "TPU-v7"),
        ("tpu7x", "TPU-v7"),
        ("Trillium", "TPU-v6e"),
        ("trn2", "Trainium2"),
        ("Gaudi3", "Gaudi-3"),
        ("VR200", "Rubin"),
        ("GB300 NVL72", "GB300"),
        ("H200 NVL", "H200-NVL"),
        ("MI400", "MI455X"),
    ):
        assert catalog.lookup("accelerators", alias)["name"] == name


def test_precisions_of_a_scenario_defined_accelerator_are_empty():
    rows = catalog.load_table("accelerators", {"MyChip": {"dense_bf16_flop_per_s": 1e15}})
    assert catalog.precisions(rows["MyChip"]) == ()
    assert catalog.precisions(rows["H100-SXM"]) == ("fp16", "bf16", "fp8", "int8")


def test_compare_prints_one_column_per_accelerator():
    res = _run("catalog", "compare", "H100", "B200", "MI355X")
    assert res.exit_code == 0, res.output
    for name in ("H100-SXM", "B200", "MI355X"):
        assert name in res.stdout
    assert "TFLOP/s" in res.stdout and "BF16 dense peak" in res.stdout and "10,100" in res.stdout


def test_compare_json_holds_values_in_column_units_with_sources():
    res = _run("catalog", "compare", "h100", "Ironwood", "H100-SXM", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["accelerators"] == ["H100-SXM", "TPU-v7"]  # aliases resolved, duplicates dropped
    fields = {f["field"]: f for f in data["fields"]}
    assert fields["dense_fp8_flop_per_s"]["unit"] == "FLOP/s"
    assert fields["dense_fp8_flop_per_s"]["values"] == [1.979e15, 4.614e15]
    assert fields["dense_fp4_flop_per_s"]["values"] == [None, None]  # not published stays null
    assert fields["precisions"]["values"][1] == ["bf16", "fp8"]
    assert all(data["source"][n] for n in data["accelerators"])


def test_compare_unknown_name_exits_2_listing_the_known_names():
    res = _run("catalog", "compare", "H100", "X9000")
    assert res.exit_code == 2
    assert "X9000" in res.stderr and "known:" in res.stderr
    for name in ("H100-SXM", "GB300", "TPU-v7", "Trainium3"):
        assert name in res.stderr


def test_compare_needs_a_name():
    assert _run("catalog", "compare").exit_code == 2


def test_a_bad_status_or_precision_in_the_csv_is_a_catalog_error():
    good = {"name": "X", "status": "shipping", "precisions": "bf16;fp8"}
    catalog._check_accelerator(good, 2)
    with pytest.raises(CatalogError, match="status"):
        catalog._check_accelerator({**good, "status": "rumoured"}, 2)
    with pytest.raises(CatalogError, match="fp3"):
        catalog._check_accelerator({**good, "precisions": "bf16;fp3"}, 2)
