"""Class 10: a damaged SMT2020 / AutoSched AP fab folder, or a damaged fab2token YAML fab file, is refused with one
FabFormatError naming the file, the line and column (or field path), the value found and what was expected: never a
KeyError, ValueError, UnicodeDecodeError or a blocked read. Each test copies the published SMT2020 HV/LM folder
into its own temporary folder, damages one file, and reads the message the user would see."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from fab2token.errors import Fab2TokenError
from fab2token.supply.fabline import FabFormatError, load_any, load_fab, load_fab_yaml
from fab2token.supply.fabline.tables import MAX_TABLE_BYTES, MAX_TOOLS
from tests.conftest import EXAMPLES, SHARED
from tests.hostile.scenario_support import bounded, cli

DATA = SHARED / "data" / "smt2020"
HVLM = DATA / "HVLM"
needs_smt = pytest.mark.skipif(not HVLM.exists(), reason="shared SMT2020 data not present")
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need a POSIX system")


@pytest.fixture
def fab(tmp_path: Path) -> Path:
    """A writable copy of the SMT2020 HV/LM folder (the shared original is read-only and never touched)."""
    if not HVLM.exists():
        pytest.skip("shared SMT2020 data not present")
    folder = tmp_path / "HVLM"
    shutil.copytree(HVLM, folder)
    folder.chmod(0o755)
    for p in folder.iterdir():
        p.chmod(0o644)
    return folder


def edit(path: Path, change: Callable[[list[list[str]]], None]) -> None:
    """Rewrite a tab-separated file after ``change`` has edited its rows (row 0 is the header)."""
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").split("\n")]
    change(rows)
    path.write_text("\n".join("\t".join(r) for r in rows), encoding="utf-8")


def setcell(path: Path, line: int, column: str, value: str) -> None:
    """Set the value of ``column`` on (1-based) ``line`` of a table."""

    def change(rows: list[list[str]]) -> None:
        i = [c.strip() for c in rows[0]].index(column)
        rows[line - 1][i] = value

    edit(path, change)


def refused(folder: Path) -> str:
    """The message of the FabFormatError loading ``folder`` gives (within a time bound: nothing may block)."""
    with bounded(), pytest.raises(FabFormatError) as info:
        load_any(folder)
    assert isinstance(info.value, Fab2TokenError)  # the CLI's handler turns it into one line and exit 2
    message = str(info.value)
    assert "Traceback" not in message and len(message) < 3_000
    return message


def names(message: str, *parts: str) -> None:
    missing = [p for p in parts if p not in message]
    assert not missing, f"{missing} not in: {message}"


# -- a name referenced but not defined (a KeyError before) --------------------------------------------------------


def test_class10_unknown_part_in_order_txt_names_line_column_and_value(fab):
    setcell(fab / "order.txt", 3, "PART", "part_9")
    names(refused(fab), str(fab / "order.txt"), "line 3, column PART", "'part_9'", "a PART of part.txt: part_3, part_4")


def test_class10_unknown_part_in_wip_names_the_lot_line(fab):
    setcell(fab / "WIP.txt", 100, "PART", "part_X")
    names(refused(fab), "WIP.txt", "line 100, column PART", "'part_X'", "part_3")


def test_class10_unknown_tool_family_in_a_route(fab):
    setcell(fab / "route_4.txt", 7, "STNFAM", "NoSuchFamily")
    names(refused(fab), "route_4.txt", "line 7, column STNFAM", "'NoSuchFamily'", "tool family (STNFAM) of tool.txt.1l")


def test_class10_unknown_station_group_in_attach_txt(fab):
    setcell(fab / "attach.txt", 2, "RESNAME", "Def_Metx")
    names(refused(fab), "attach.txt", "line 2, column RESNAME", "'Def_Metx'", "station group (STNGRP)")


def test_class10_unknown_calendar_in_attach_txt(fab):
    setcell(fab / "attach.txt", 20, "CALNAME", "NO_SUCH_PM")
    names(refused(fab), "attach.txt", "line 20, column CALNAME", "'NO_SUCH_PM'", "a PMCALNAME of pmcal.txt")


def test_class10_rework_to_a_step_the_route_does_not_have(fab):
    lines = [line.split("\t") for line in (fab / "route_3.txt").read_text().split("\n")]
    i = lines[0].index("RWKSTEP")
    line = next(k + 1 for k, r in enumerate(lines) if k and len(r) > i and r[i].strip())  # the first rework step
    setcell(fab / "route_3.txt", line, "RWKSTEP", "9999")
    names(refused(fab), "route_3.txt", f"line {line}, column RWKSTEP", "'9999'", "a STEP of this route (1..583)")


def test_class10_route_file_outside_the_folder_is_refused(fab):
    setcell(fab / "part.txt", 2, "ROUTEFILE", "../../etc/passwd")
    names(refused(fab), "part.txt", "line 2, column ROUTEFILE", "'../../etc/passwd'", "a file in the fab folder")


def test_class10_missing_route_file_names_the_part_that_needs_it(fab):
    (fab / "route_4.txt").unlink()
    names(refused(fab), str(fab / "route_4.txt"), "No such file", "part 'part_4' (part.txt line 3, column ROUTEFILE)")


def test_class10_a_family_given_twice(fab):
    edit(fab / "tool.txt.1l", lambda rows: rows.insert(5, list(rows[1])))
    names(refused(fab), "tool.txt.1l", "line 6, column STNFAM", "'DE_BE_11'", "each STNFAM once", "line 2 already")


# -- values that cannot be read (a ValueError before) --------------------------------------------------------------


def test_class10_a_processing_time_that_is_not_a_number(fab):
    setcell(fab / "route_3.txt", 12, "PTIME", "12,5")
    names(refused(fab), "route_3.txt", "line 12, column PTIME", "'12,5'", "a number at least 0")


def test_class10_nan_tool_count_is_not_a_count(fab):
    setcell(fab / "tool.txt.1l", 4, "STNQTY", "nan")
    names(refused(fab), "tool.txt.1l", "line 4, column STNQTY", "'nan'", "a finite number")


def test_class10_a_fractional_tool_count(fab):
    setcell(fab / "tool.txt.1l", 4, "STNQTY", "2.5")
    names(refused(fab), "tool.txt.1l", "line 4, column STNQTY", "'2.5'", f"a whole number in 1..{MAX_TOOLS:,}")


def test_class10_more_tools_than_the_bound(fab):
    setcell(fab / "tool.txt.1l", 2, "STNQTY", str(MAX_TOOLS))
    names(refused(fab), "tool.txt.1l", "column STNQTY", f"at most {MAX_TOOLS:,} tools in the fab")


def test_class10_a_release_date_in_another_format(fab):
    setcell(fab / "order.txt", 2, "START", "2018-01-01 00:00")
    names(refused(fab), "order.txt", "line 2, column START", "'2018-01-01 00:00'", "MM/DD/YY HH:MM:SS")


def test_class10_an_impossible_due_date_in_wip(fab):
    setcell(fab / "WIP.txt", 2, "DUE", "02/30/18 06:19:32")
    names(refused(fab), "WIP.txt", "line 2, column DUE", "'02/30/18 06:19:32'", "MM/DD/YY HH:MM:SS")


def test_class10_due_before_release(fab):
    setcell(fab / "order.txt", 2, "DUE", "12/31/17 00:00:00")
    names(
        refused(fab), "order.txt", "line 2, column DUE", "'12/31/17 00:00:00'", "not before START (01/01/18 00:00:00)"
    )


def test_class10_an_unknown_time_unit(fab):
    setcell(fab / "route_3.txt", 3, "PTUNITS", "minutes")
    names(refused(fab), "route_3.txt", "line 3, column PTUNITS", "'minutes'", "a time unit, one of sec, min, hr")


def test_class10_a_zero_release_interval_would_flood_the_line(fab):
    setcell(fab / "order.txt", 2, "REPEAT", "0")
    names(refused(fab), "order.txt", "line 2, column REPEAT", "'0'", "a finite number above 0")


def test_class10_a_zero_time_between_failures_would_never_end(fab):
    setcell(fab / "downcal.txt", 3, "MTTF", "0")
    names(refused(fab), "downcal.txt", "line 3, column MTTF", "'0'", "above 0")


def test_class10_a_half_width_larger_than_its_mean(fab):
    setcell(fab / "route_3.txt", 2, "PTIME2", "600")
    names(refused(fab), "route_3.txt", "line 2, column PTIME2", "'600'", "at most PTIME (501.33 min)")


def test_class10_a_wip_lot_past_the_end_of_its_route(fab):
    setcell(fab / "WIP.txt", 2, "CURSTEP", "584")
    names(refused(fab), "WIP.txt", "line 2, column CURSTEP", "'584'", "a whole number in 1..583")


def test_class10_an_unknown_per_mode(fab):
    setcell(fab / "route_4.txt", 2, "PTPER", "per_wafer")
    names(refused(fab), "route_4.txt", "line 2, column PTPER", "'per_wafer'", "per_piece, per_lot, per_batch")


# -- the shape of a file: columns, rows, bytes --------------------------------------------------------------------


def test_class10_a_renamed_required_column(fab):
    setcell(fab / "order.txt", 1, "PIECES", "WAFERS")
    names(refused(fab), "order.txt", "line 1 (the header)", "'WAFERS'", "a column PIECES (renamed or missing?)")


def test_class10_a_renamed_optional_column_is_not_silently_ignored(fab):
    setcell(fab / "route_3.txt", 1, "PTIME2", "PTIME_2")
    names(refused(fab), "route_3.txt", "line 1 (the header)", "'PTIME_2'", "a column PTIME2 (renamed or missing?)")


def test_class10_a_column_given_twice(fab):
    setcell(fab / "part.txt", 1, "ROUTE", "PART")
    names(refused(fab), "part.txt", "line 1, column 5", "'PART'", "each column once (it is column 3)")


def test_class10_a_truncated_row_says_it_is_cut_short(fab):
    edit(fab / "order.txt", lambda rows: rows.__setitem__(3, rows[3][:4]))
    names(refused(fab), "order.txt", "line 4, column START", "got ''", "the line has 4 of the header's 13 fields")


def test_class10_non_utf8_bytes_name_line_and_column(fab):
    data = (fab / "part.txt").read_bytes().replace(b"product_4", b"produit_\xe94")
    (fab / "part.txt").write_bytes(data)
    names(refused(fab), "part.txt", "line 3, column PARTFAM", "b'produit_\\xe94'", "UTF-8 text", "b'\\xe9'")


def test_class10_an_empty_file(fab):
    (fab / "tool.txt.1l").write_bytes(b"")
    names(refused(fab), "tool.txt.1l", "'an empty file'", "a tab-separated header row naming the columns STNFAM")


def test_class10_a_header_and_no_rows(fab):
    edit(fab / "order.txt", lambda rows: rows.__delitem__(slice(1, None)))
    names(refused(fab), "order.txt", "'a header and no rows'", "at least one row after the header")


def test_class10_a_field_beyond_the_csv_limit(fab):
    setcell(fab / "route_3.txt", 5, "DESC", "x" * 200_000)
    names(refused(fab), "route_3.txt", "line 5", "field larger than field limit")


def test_class10_a_missing_required_file(fab):
    (fab / "part.txt").unlink()
    names(refused(fab), str(fab / "part.txt"), "No such file", "the parts (PART) and their route files")


def test_class10_a_folder_in_place_of_a_file(fab):
    (fab / "order.txt").unlink()
    (fab / "order.txt").mkdir()
    names(refused(fab), "order.txt", "not a regular file: it is a folder")


@needs_fifo
def test_class10_a_named_pipe_in_place_of_a_file_does_not_block(fab):
    (fab / "WIP.txt").unlink()
    os.mkfifo(fab / "WIP.txt")
    names(refused(fab), "WIP.txt", "not a regular file: it is a named pipe")


def test_class10_dev_zero_linked_in_place_of_a_file_is_not_read(fab):
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    (fab / "setup.txt").unlink()
    (fab / "setup.txt").symlink_to("/dev/zero")
    names(refused(fab), "setup.txt", "character device")


def test_class10_a_huge_file_is_refused_before_it_is_read(fab):
    with (fab / "WIP.txt").open("r+b") as fh:  # sparse: no disk used
        fh.truncate(MAX_TABLE_BYTES + 1)
    names(refused(fab), "WIP.txt", f"{MAX_TABLE_BYTES + 1:,} bytes", f"limit of {MAX_TABLE_BYTES:,} bytes")


# -- the folder itself and the command line -----------------------------------------------------------------------


def test_class10_a_folder_that_does_not_exist(tmp_path):
    names(refused(tmp_path / "nope"), str(tmp_path / "nope"), "no such file or folder", "SMT2020-style fab folder")


def test_class10_a_file_given_as_the_folder(tmp_path):
    (tmp_path / "fab.txt").write_text("not a folder\n")
    names(refused(tmp_path / "fab.txt"), "fab.txt", "a file, not a folder", "fab2token YAML fab file (.yaml)")


def test_class10_cli_folder_that_does_not_exist_exits_2(tmp_path):
    code, output = cli("fabline", str(tmp_path / "missing"), "--days", "1")
    assert code == 2
    names(output, "missing", "no such file or folder")


def test_class10_cli_file_given_as_the_folder_exits_2(tmp_path):
    (tmp_path / "order.txt").write_text("LOT\tPART\n")
    code, output = cli("fabline", str(tmp_path / "order.txt"), "--days", "1")
    assert code == 2
    names(output, "order.txt", "not a folder")


def test_class10_cli_unknown_part_exits_2_with_the_location(fab):
    setcell(fab / "order.txt", 2, "PART", "part_99")
    code, output = cli("fabline", str(fab), "--days", "1")
    assert code == 2
    names(output, "order.txt", "line 2, column PART", "'part_99'")


def test_class10_cli_non_utf8_route_exits_2(fab):
    (fab / "route_4.txt").write_bytes((fab / "route_4.txt").read_bytes().replace(b"Wet_Etch", b"Wet\xffEtch", 1))
    code, output = cli("fabline", str(fab), "--days", "1", "--json")
    assert code == 2
    names(output, "route_4.txt", "line 3, column DESC", "UTF-8")


# -- the YAML fab format ------------------------------------------------------------------------------------------

FAB = (EXAMPLES / "mini-fab.yaml").read_text(encoding="utf-8")


def yaml_refused(tmp_path: Path, text: str | bytes, name: str = "fab.yaml") -> str:
    p = tmp_path / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    with bounded(), pytest.raises(FabFormatError) as info:
        load_fab_yaml(p)
    message = str(info.value)
    assert str(p) in message and len(message) < 5_000
    return message


def test_class10_yaml_unknown_family_in_a_route(tmp_path):
    msg = yaml_refused(
        tmp_path,
        FAB.replace("{family: etch, minutes: 1.5, per: piece, s", "{family: etsh, minutes: 1.5, per: piece, s"),
    )
    names(msg, "products[0].route[4].family", "'etsh'", "one of the families: litho, furnace, etch")


def test_class10_yaml_non_utf8(tmp_path):
    msg = yaml_refused(tmp_path, FAB.encode().replace(b"chip_hot", b"chip\xe9hot"))
    names(msg, "line 16, column 16", "chip\\xe9hot", "UTF-8 text (the byte b'\\xe9' at offset 773")


def test_class10_yaml_empty_file(tmp_path):
    names(yaml_refused(tmp_path, ""), "'an empty file'", "families, products and orders")


def test_class10_yaml_a_list_not_a_mapping(tmp_path):
    names(yaml_refused(tmp_path, "- litho\n- etch\n"), "['litho', 'etch']", "a YAML mapping with families")


def test_class10_yaml_alias_bomb_is_bounded(tmp_path):
    bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    names(yaml_refused(tmp_path, bomb), "values", "alias")


def test_class10_yaml_infinite_minutes(tmp_path):
    msg = yaml_refused(tmp_path, FAB.replace("minutes: 300", "minutes: .inf"))
    names(msg, "products[0].route[1].minutes", "inf", "finite")


def test_class10_yaml_a_billion_tools(tmp_path):
    msg = yaml_refused(tmp_path, FAB.replace("{name: litho, tools: 3}", "{name: litho, tools: 1000000000}"))
    names(msg, "families[0].tools", "1000000000", f"{MAX_TOOLS}")


def test_class10_yaml_half_width_above_the_mean(tmp_path):
    msg = yaml_refused(
        tmp_path, FAB.replace("minutes: 40, halfwidth_minutes: 2}", "minutes: 40, halfwidth_minutes: 50}", 1)
    )
    names(msg, "products[0].route[0].halfwidth_minutes", "50", "at most minutes (40)")


def test_class10_yaml_a_family_named_twice(tmp_path):
    msg = yaml_refused(tmp_path, FAB.replace("{name: etch, tools: 2", "{name: litho, tools: 2"))
    names(msg, "families[2].name", "'litho'", "each name once in families (it is families[0].name already)")


def test_class10_yaml_a_down_for_an_unknown_group(tmp_path):
    msg = yaml_refused(tmp_path, FAB.replace("{group: thermal,", "{group: thermol,"))
    names(msg, "downs[1].group", "'thermol'", "a group of the families: litho, thermal, etch")


def test_class10_yaml_a_misspelt_field(tmp_path):
    msg = yaml_refused(tmp_path, FAB.replace("transport_minutes: 5", "transport_minuts: 5"))
    names(msg, "transport_minuts", "did you mean transport_minutes?")


def test_class10_yaml_a_folder_named_fab_yaml(tmp_path):
    (tmp_path / "fab.yaml").mkdir()
    with pytest.raises(FabFormatError, match="not a regular file: it is a folder"):
        load_fab_yaml(tmp_path / "fab.yaml")


def test_class10_cli_yaml_fab_with_a_bad_value_exits_2(tmp_path):
    (tmp_path / "fab.yaml").write_text(FAB.replace("count: 100,", "count: lots,"))
    code, output = cli("fabline", str(tmp_path / "fab.yaml"), "--days", "1")
    assert code == 2
    names(output, "fab.yaml", "orders[1].count", "'lots'")


# -- the real datasets still load as published --------------------------------------------------------------------


@needs_smt
@pytest.mark.parametrize(("name", "routes", "families", "wip"), [("HVLM", 2, 106, 2255), ("LVHM", 10, 106, 2156)])
def test_class10_both_published_datasets_still_load(name, routes, families, wip):
    m = load_fab(DATA / name)
    assert (len(m.routes), len(m.families), len(m.wip), len(m.pms)) == (routes, families, wip, 292)
    assert m.transport_min == (7.5, 2.5) and len(m.setup_matrix) == 13
