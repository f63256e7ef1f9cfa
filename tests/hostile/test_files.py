"""Class 4: files that are not ordinary files (a device, a named pipe, a folder), oversized files, a CSV field beyond
the csv module's limit and bytes that are not UTF-8 are refused naming the file (and the line or byte), never read
forever, blocked on, or turned into a traceback. This holds for the scenario and for every file it names."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from fab2token.errors import ScenarioError
from fab2token.scenario import files, load_scenario
from fab2token.scenario.files import TYPICAL_YEAR_HOURS, FileProblem, read_fabline_result, read_regular
from tests.hostile.scenario_support import bounded, refused, small, write

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need a POSIX system")


def _fifo(tmp: Path, name: str) -> Path:
    p = tmp / name
    os.mkfifo(p)
    return p


def _weather(tmp: Path, body: bytes, name: str = "weather.csv") -> Path:
    p = tmp / name
    p.write_bytes(body)
    return p


def _year(rows: int = TYPICAL_YEAR_HOURS) -> bytes:
    return b"hour,dry_bulb_c\n" + b"".join(b"%d,%.1f\n" % (h, 10 + (h % 24) / 3) for h in range(rows))


def _with_weather(tmp: Path, weather: str) -> Path:
    d = small()
    d["sites"][0].pop("climate")
    d["sites"][0].pop("wue_per_degree_c", None)
    d["sites"][0]["weather_csv"] = weather
    return write(tmp, d)


def _with_fabline(tmp: Path, result: str, order: str = "Lot_3") -> Path:
    d = small()
    d["supply"]["fab"]["fabline_result"] = result
    d["supply"]["fab"]["fabline_order"] = order
    return write(tmp, d)


def test_files_dev_zero_as_the_scenario_is_not_read(tmp_path):
    msg = refused("/dev/zero", tmp_path)
    assert "/dev/zero" in msg and "not a regular file" in msg and "character device" in msg


def test_files_named_pipe_as_the_scenario_does_not_block(tmp_path):
    msg = refused(_fifo(tmp_path, "pipe.yaml"), tmp_path)
    assert "pipe.yaml" in msg and "not a regular file" in msg and "named pipe" in msg


def test_files_folder_as_the_scenario_is_refused(tmp_path):
    (tmp_path / "folder.yaml").mkdir()
    msg = refused(tmp_path / "folder.yaml", tmp_path)
    assert "folder.yaml" in msg and "a folder" in msg


def test_files_non_utf8_scenario_names_the_byte(tmp_path):
    p = tmp_path / "latin1.yaml"
    p.write_bytes("name: caf\u00e9\n".encode("latin-1"))
    msg = refused(p, tmp_path)
    assert "latin1.yaml" in msg and "not UTF-8" in msg and "the byte at offset 9 (line 1, column 10)" in msg


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "folder"])
def test_files_weather_csv_that_is_not_a_regular_file_is_named(tmp_path, kind):
    target = {"dev-zero": "/dev/zero", "fifo": str(_fifo(tmp_path, "w.csv")), "folder": str(tmp_path)}[kind]
    msg = refused(_with_weather(tmp_path, target), tmp_path)
    assert "sites[0].weather_csv" in msg and target in msg and "not a regular file" in msg


def test_files_oversized_weather_csv_is_refused_before_reading(tmp_path):
    p = tmp_path / "huge.csv"
    with p.open("wb") as fh:
        fh.truncate(files.MAX_WEATHER_CSV_BYTES + 1)
    msg = refused(_with_weather(tmp_path, str(p)), tmp_path)
    assert "huge.csv" in msg and f"limit of {files.MAX_WEATHER_CSV_BYTES:,} bytes" in msg


def test_files_weather_csv_field_of_128_kb_names_file_and_line(tmp_path):
    body = b"hour,dry_bulb_c\n0,10\n1," + b"9" * 131_073 + b"\n"
    msg = refused(_with_weather(tmp_path, str(_weather(tmp_path, body))), tmp_path)
    assert "weather.csv line 3" in msg and "field larger than field limit" in msg
    assert "_csv.Error" not in msg


def test_files_weather_csv_long_value_is_echoed_shortly(tmp_path):
    body = b"hour,dry_bulb_c\n0," + b"x" * 100_000 + b"\n"
    msg = refused(_with_weather(tmp_path, str(_weather(tmp_path, body))), tmp_path)
    assert "weather.csv line 2" in msg and "100,000 characters" in msg and len(msg) < 3_000


def test_files_non_utf8_weather_csv_names_the_byte_and_line(tmp_path):
    body = b"hour,dry_bulb_c\n0,10\n1,1\xb0\n"
    msg = refused(_with_weather(tmp_path, str(_weather(tmp_path, body))), tmp_path)
    assert "weather.csv" in msg and "not UTF-8" in msg and "offset 24 (line 3, column 4)" in msg


def test_files_weather_csv_with_too_many_rows_stops_at_the_first_extra(tmp_path):
    body = _year(TYPICAL_YEAR_HOURS + 100)
    msg = refused(_with_weather(tmp_path, str(_weather(tmp_path, body))), tmp_path)
    assert f"line {TYPICAL_YEAR_HOURS + 2}" in msg and f"more than {TYPICAL_YEAR_HOURS} hourly rows" in msg


def test_files_weather_csv_with_a_byte_order_mark_is_read(tmp_path):
    p = _weather(tmp_path, b"\xef\xbb\xbf" + _year())  # as spreadsheet programs write UTF-8 CSVs
    sc, _ = load_scenario(_with_weather(tmp_path, p.name))
    assert sc.sites[0].weather_dry_bulb_c().shape == (TYPICAL_YEAR_HOURS,)


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "missing"])
def test_files_fabline_result_that_cannot_be_read_is_named(tmp_path, kind):
    target = {"dev-zero": "/dev/zero", "fifo": str(_fifo(tmp_path, "fl.json")), "missing": str(tmp_path / "no.json")}
    msg = refused(_with_fabline(tmp_path, target[kind]), tmp_path)
    assert "supply.fab.fabline_result" in msg and target[kind] in msg
    assert ("not a regular file" in msg) if kind != "missing" else ("cannot be read" in msg)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("{not json", "not JSON"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ("[1, 2]", "a JSON list"),
        (json.dumps({"days": 0, "cycle_time_days_mean": {"Lot_3": 60}, "lots_completed": {"Lot_3": 9}}), "days is 0"),
        (json.dumps({"days": 90, "cycle_time_days_mean": {"Lot_4": 60}, "lots_completed": {}}), "its orders: Lot_4"),
        (json.dumps({"days": 90, "cycle_time_days_mean": {"Lot_3": "NaN"}, "lots_completed": {"Lot_3": 1}}), "finite"),
    ],
)
def test_files_fabline_result_that_is_not_a_fabline_output_is_named(tmp_path, content, why):
    (tmp_path / "fl.json").write_text(content)
    msg = refused(_with_fabline(tmp_path, "fl.json"), tmp_path)
    assert "supply.fab.fabline_result" in msg and "fl.json" in msg and why in msg


def test_files_fabline_result_is_read_once_relative_to_the_scenario(tmp_path):
    result = {"days": 91.3125, "cycle_time_days_mean": {"Lot_3": 60.9}, "lots_completed": {"Lot_3": 120}}
    (tmp_path / "fl.json").write_text(json.dumps(result))
    sc, _ = load_scenario(_with_fabline(tmp_path, "fl.json"))
    assert sc.supply.fab.fabline_figures() == (60.9, 120.0, 91.3125)
    assert sc.supply.fab.fabline_result_path() == str(tmp_path / "fl.json")


def test_files_read_regular_bounds_a_file_that_reports_no_size():
    """/proc files are regular but report size 0: the read itself is bounded."""
    proc = Path("/proc/self/maps")
    if not proc.exists():
        pytest.skip("no /proc here")
    with pytest.raises(FileProblem, match="more than the limit of 10 bytes"):
        read_regular(proc, 10)


def test_files_read_fabline_result_refuses_a_device_without_opening_it():
    with bounded(5), pytest.raises(FileProblem, match="not a regular file"):
        read_fabline_result("/dev/zero", "Lot_3")


def test_files_missing_scenario_is_a_scenario_error(tmp_path):
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "absent.yaml")
    (issue,) = info.value.issues
    assert issue.file.endswith("absent.yaml") and "cannot be read" in str(issue.value)


def test_files_weather_csv_name_with_a_nul_character_is_an_error_not_a_crash(tmp_path):
    msg = refused(_with_weather(tmp_path, "bad\x00name.csv"), tmp_path)
    assert "sites[0].weather_csv" in msg and "not a valid file name" in msg
