"""Files a scenario names, read once at the boundary and handed on as data (validation reads them; the engine never
reads them again).

Every file is read through :func:`read_regular`: it must be an ordinary file (not ``/dev/zero``, a named pipe or a
folder, checked with ``stat`` before reading) of bounded size, so no input can read forever or block.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fab2token.errors import clip, shown
from fab2token.scenario.fields import MAX_AIR_C, MIN_AIR_C

__all__ = [
    "TYPICAL_YEAR_HOURS",
    "MAX_WEATHER_CSV_BYTES",
    "MAX_FABLINE_RESULT_BYTES",
    "FileProblem",
    "input_path",
    "files_in",
    "read_regular",
    "utf8_text",
    "read_weather_csv",
    "read_fabline_result",
]

Array = NDArray[np.float64]

TYPICAL_YEAR_HOURS = 8760
# A typical year is 8,760 rows; a full EPW-style row (35 fields) is ~250 bytes, so a generous year is ~2 MB.
# 16 MiB is eight times that, and reading it takes well under a second.
MAX_WEATHER_CSV_BYTES = 16 * 2**20
# A `fabline --json` output of a 730-day SMT2020 run is ~30 kB (per-order figures, WIP by day, utilisation by
# family); a 100-year run adds ~10 bytes a day. 16 MiB bounds a file that cannot be one.
MAX_FABLINE_RESULT_BYTES = 16 * 2**20

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe, which may never end"),
    (stat.S_ISCHR, "a character device such as /dev/zero, which may never end"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class FileProblem(ValueError):
    """A file that cannot be used; the message says what is wrong with it (the caller names the file)."""


# where a scenario's relative file names are read from when it has no file of its own (the dashboard's uploads)
_FOLDER: ContextVar[Path | None] = ContextVar("fab2token_input_folder", default=None)


def input_path(name: str, scenario_file: str) -> Path:
    """The file a scenario field names: as written when absolute, else relative to the scenario file's folder (or
    to the folder :func:`files_in` set)."""
    path = Path(name)
    if path.is_absolute():
        return path
    return (_FOLDER.get() or Path(scenario_file).resolve().parent) / path


@contextmanager
def files_in(folder: Path) -> Iterator[None]:
    """Read the relative file names of the scenarios validated within from ``folder`` (a scenario from the
    dashboard's editor, whose files were uploaded with it)."""
    token = _FOLDER.set(folder)
    try:
        yield
    finally:
        _FOLDER.reset(token)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not an ordinary file")


def read_regular(path: str | Path, max_bytes: int) -> bytes:
    """The bytes of an ordinary file of at most ``max_bytes``.

    The file is checked with ``os.stat`` before it is opened (a device or a pipe is never opened), opened
    non-blocking and checked again on the open descriptor, and read only up to the bound, so a file that grows
    meanwhile or a ``/proc`` file that reports size 0 cannot be read past it.

    Raises
    ------
    FileProblem
        Not found, not readable, not an ordinary file, or larger than ``max_bytes``.
    """
    try:
        st = os.stat(path)
    except OSError as exc:
        raise FileProblem(f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    except ValueError:  # a name the system cannot take, e.g. with a NUL character
        raise FileProblem("cannot be read (not a valid file name)") from None
    if not stat.S_ISREG(st.st_mode):
        raise FileProblem(f"not a regular file: it is {_kind(st.st_mode)}")
    if st.st_size > max_bytes:
        raise FileProblem(f"{st.st_size:,} bytes, more than the limit of {max_bytes:,} bytes")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "rb") as fh:
            mode = os.fstat(fh.fileno()).st_mode
            data = fh.read(max_bytes + 1) if stat.S_ISREG(mode) else b""
    except OSError as exc:
        raise FileProblem(f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    if not stat.S_ISREG(mode):  # replaced between the two checks
        raise FileProblem(f"not a regular file: it is {_kind(mode)}")
    if len(data) > max_bytes:
        raise FileProblem(f"more than the limit of {max_bytes:,} bytes")
    return data


def utf8_text(data: bytes) -> str:
    """``data`` decoded as UTF-8 (a leading byte-order mark dropped); FileProblem names the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise FileProblem(
            f"not UTF-8 text: the byte at offset {exc.start:,} (line {line}, column {column}) is {data[exc.start : exc.start + 1]!r}"
        ) from None


def read_weather_csv(path: str | Path) -> Array:
    """A typical year of hourly dry-bulb temperature: a CSV with a ``dry_bulb_c`` column and 8760 data rows
    (1 January 00:00 to 31 December 23:00, a non-leap year). Raises ValueError (:class:`FileProblem` for a file
    that cannot be read at all) naming the file, line, value and what was expected."""
    p = Path(path)
    try:
        text = utf8_text(read_regular(p, MAX_WEATHER_CSV_BYTES))
    except FileProblem as exc:
        raise FileProblem(f"{clip(p)}: {exc}") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    values = []
    try:
        if reader.fieldnames is None or "dry_bulb_c" not in reader.fieldnames:
            raise ValueError(f"{clip(p)}: header {shown(reader.fieldnames)}, expected a 'dry_bulb_c' column")
        for row in reader:
            lineno = reader.line_num
            if len(values) == TYPICAL_YEAR_HOURS:
                raise ValueError(f"{clip(p)} line {lineno}: more than {TYPICAL_YEAR_HOURS} hourly rows")
            cell = row.get("dry_bulb_c")
            text_value = (cell if isinstance(cell, str) else "").strip()
            try:
                v = float(text_value)
            except ValueError:
                raise ValueError(
                    f"{clip(p)} line {lineno}: dry_bulb_c {shown(text_value)}, expected a number (°C)"
                ) from None
            if not MIN_AIR_C <= v <= MAX_AIR_C:
                raise ValueError(
                    f"{clip(p)} line {lineno}: dry_bulb_c {v}, expected an air temperature in {MIN_AIR_C:g}..{MAX_AIR_C:g} °C"
                )
            values.append(v)
    except csv.Error as exc:  # e.g. a field larger than the csv module's limit (128 kB)
        # the line being parsed when the csv module gave up is the one after those it has finished
        raise ValueError(
            f"{clip(p)} line {reader.line_num + 1}: {exc}, expected a CSV of short numeric fields"
        ) from None
    if len(values) != TYPICAL_YEAR_HOURS:
        raise ValueError(f"{clip(p)}: {len(values)} hourly rows, expected {TYPICAL_YEAR_HOURS} (one non-leap year)")
    return np.array(values)


def _figure(data: dict[str, Any], key: str, order: str | None) -> float:
    value: Any = data.get(key)
    where = key
    if order is not None:
        if not isinstance(value, dict) or order not in value:
            known = sorted(value) if isinstance(value, dict) else []
            raise FileProblem(f"no {key} for order {shown(order)}; its orders: {clip(', '.join(map(str, known)))}")
        value, where = value[order], f"{key}.{order}"
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise FileProblem(f"{where} is {shown(value)}, expected a finite non-negative number")
    return float(value)


def read_fabline_result(path: str | Path, order: str, with_share: bool = False) -> tuple[Any, ...]:
    """``(cycle_time_days_mean, lots_completed, days)`` of one order of a ``fab2token fabline --json`` output (the
    days from its warm-up on, over which its lots completed are counted); with
    ``with_share``, a fourth item: the order's ``cycle_time_months_share`` (None in an output from before it).

    Raises
    ------
    FileProblem
        The file cannot be read, is not such an output, or lacks the order (its orders are listed).
    """
    try:
        data = json.loads(utf8_text(read_regular(path, MAX_FABLINE_RESULT_BYTES)))
    except RecursionError:  # json nests recursively: thousands of '[' exhaust the stack
        raise FileProblem("JSON nested too deeply to be a `fabline --json` output") from None
    except json.JSONDecodeError as exc:
        raise FileProblem(f"not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    if not isinstance(data, dict):
        raise FileProblem(f"a JSON {type(data).__name__}, expected the object `fab2token fabline --json` writes")
    days = _figure(data, "days", None)
    if days <= 0:
        raise FileProblem(f"days is {shown(days)}, expected the simulated days (above 0)")
    warmup = _figure(data, "warmup_days", None) if "warmup_days" in data else 0.0  # absent before it was written
    if warmup >= days:
        raise FileProblem(f"warmup_days is {shown(warmup)}, expected fewer than its days ({shown(days)})")
    days -= warmup
    figures = _figure(data, "cycle_time_days_mean", order), _figure(data, "lots_completed", order), days
    return (*figures, _months_share(data, order)) if with_share else figures


MAX_CYCLE_MONTHS = 36  # the scenario's bound on supply.fab.cycle_time_months


def _months_share(data: dict[str, Any], order: str) -> tuple[float, ...] | None:
    """An order's ``cycle_time_months_share``: non-negative shares of whole months 0..36 that sum to 1."""
    shares = data.get("cycle_time_months_share")
    if shares is None:
        return None
    where = f"cycle_time_months_share.{order}"
    value = shares.get(order) if isinstance(shares, dict) else None
    ok = isinstance(value, list) and 0 < len(value) <= MAX_CYCLE_MONTHS + 1
    ok = ok and all(
        isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) and x >= 0 for x in value
    )
    if not ok or abs(sum(value) - 1.0) > 1e-6:
        raise FileProblem(
            f"{where} is {shown(value)}, expected up to {MAX_CYCLE_MONTHS + 1} non-negative shares of whole months "
            "that sum to 1"
        )
    return tuple(float(x) for x in value)
