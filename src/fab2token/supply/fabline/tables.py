"""AutoSched AP text tables read with every problem located: file, line, column, value and what was expected.

A table is a tab-separated text file with one header row (the SMT2020 testbed's ``tool.txt.1l``, ``route_3.txt``,
``order.txt``, ...). It is read once through :func:`fab2token.scenario.files.read_regular` (an ordinary file of at
most :data:`MAX_TABLE_BYTES`, checked with ``stat`` before it is opened, so a folder, a device or a named pipe in
place of a file is refused and never blocked on), decoded as UTF-8 (the first bad byte is named by line and
column), and its header must hold every column the loader reads: a renamed column is an error, not a silent
default. Each value is then taken through :class:`Row`, whose readers (:meth:`Row.number`, :meth:`Row.integer`,
:meth:`Row.minutes`, :meth:`Row.when`, :meth:`Row.choice`) raise :class:`FabFormatError` at the first bad value.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TypeVar

from fab2token.errors import InputIssue, ScenarioError, clip
from fab2token.scenario.files import FileProblem, read_regular

__all__ = [
    "FabFormatError",
    "MAX_TABLE_BYTES",
    "MAX_TOOLS",
    "UNITS_MIN",
    "Row",
    "Table",
    "decode",
    "read_table",
    "refuse",
]

# The largest SMT2020 file is WIP.txt at 182 kB (2,255 lots); the routes are 24-58 kB. 8 MiB is forty-five times
# the largest, room for a fab many times the testbed's size. The worst case, 8 MiB of two-letter rows (2 million
# lines), is read in 3-6 s at ~500 MB; a real 8 MiB table (~100,000 lines) in well under a second.
MAX_TABLE_BYTES = 8 * 2**20
# Tools in one fab: the simulator keeps a few entries per tool. SMT2020 has 1,443 (at most 400 in a family);
# 100,000 is seventy times that and a few tens of MB of state, where a typo of 10**9 tools would exhaust memory.
MAX_TOOLS = 100_000
# minutes per time unit of the ``*UNITS`` columns (an empty unit means minutes where the format allows it)
UNITS_MIN = {"sec": 1 / 60, "min": 1.0, "hr": 60.0, "hour": 60.0, "day": 1440.0, "days": 1440.0}
DATE_FORMAT = "%m/%d/%y %H:%M:%S"
_DATE_EXPECTED = "a date and time as MM/DD/YY HH:MM:SS, e.g. 01/01/18 00:00:00"

T = TypeVar("T")


class FabFormatError(ScenarioError):
    """A fab (an SMT2020-style folder or a fab2token YAML fab file) that cannot be used. Each issue names the
    file, where in it (``line 12, column PART`` or a field path), the value found and what was expected."""


def refuse(file: str | Path, where: str, value: object, expected: str) -> FabFormatError:
    """The error for one problem (raise it)."""
    return FabFormatError([InputIssue(str(file), where, value, expected)])


class Table:
    """The rows of one AutoSched AP table, each with its line number; values are stripped when read."""

    def __init__(self, file: Path, columns: list[str], records: list[tuple[int, list[str]]]):
        self.file = file
        self.columns = columns
        self._position = {name: i for i, name in enumerate(columns)}
        self._records = records

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[Row]:
        return (Row(self, line, fields) for line, fields in self._records)

    def index(self, column: str) -> dict[str, Row]:
        """The rows by their (non-empty, unique) name in ``column``."""
        out: dict[str, Row] = {}
        for row in self:
            name = row.text(column, required=True)
            if name in out:
                raise row.error(column, name, f"each {column} once (it is given at line {out[name].line} already)")
            out[name] = row
        return out


class Row:
    """One data line of a :class:`Table`; every reader names the file, the line, the column and the value."""

    __slots__ = ("table", "line", "_fields")

    def __init__(self, table: Table, line: int, fields: list[str]):
        self.table, self.line, self._fields = table, line, fields

    def error(self, column: str, value: object, expected: str) -> FabFormatError:
        """The error for ``value`` found in ``column`` of this line (raise it)."""
        return refuse(self.table.file, f"line {self.line}, column {column}", value, expected)

    def text(self, column: str, *, required: bool = False) -> str:
        """The stripped value in ``column`` ('' when the line stops before it); ``required``: refuse ''."""
        i = self.table._position[column]
        value = self._fields[i].strip() if i < len(self._fields) else ""
        if required and value == "":
            raise self.error(column, value, f"a value{self._short()}")
        return value

    def _short(self) -> str:
        n, width = len(self._fields), len(self.table.columns)
        return f" (the line has {n} of the header's {width} fields: cut short?)" if n < width else ""

    def number(
        self,
        column: str,
        default: float | None = None,
        *,
        low: float | None = 0.0,
        strict: bool = False,
        high: float | None = None,
    ) -> float:
        """A finite number at least ``low`` (above it when ``strict``) and at most ``high``; ``default`` for an
        empty value, which is refused when ``default`` is None."""
        text = self.text(column, required=default is None)
        if text == "":
            return float(default)  # type: ignore[arg-type]
        bound = "" if low is None else f" {'above' if strict else 'at least'} {low:g}"
        bound += "" if high is None else f"{' and' if bound else ''} at most {high:g}"
        try:
            x = float(text)
        except ValueError:
            raise self.error(column, text, f"a number{bound}{self._short()}") from None
        below = low is not None and (x <= low if strict else x < low)
        if not math.isfinite(x) or below or (high is not None and x > high):
            raise self.error(column, text, f"a finite number{bound}")
        return x

    def integer(self, column: str, default: int | None = None, *, low: int | None = 1, high: int | None = None) -> int:
        """A whole number (``10.0`` is 10) in ``low..high``."""
        x = self.number(column, None if default is None else float(default), low=None)
        inside = (low is None or x >= low) and (high is None or x <= high)
        if x != int(x) or not inside:
            if low is not None and high is not None:
                within = f" in {low:,}..{high:,}"
            else:
                within = "" if low is None else f" of at least {low:,}"
            raise self.error(column, self.text(column), f"a whole number{within}")
        return int(x)

    def minutes(
        self,
        column: str,
        unit_column: str,
        default: float | None = None,
        *,
        strict: bool = False,
        unit_default: str | None = "min",
    ) -> float:
        """A non-negative duration (positive when ``strict``) in ``column``, converted from the unit in
        ``unit_column`` (``unit_default`` when that is empty; a unit is required when it is None)."""
        x = self.number(column, default, strict=strict)
        unit = self.text(unit_column) or unit_default or ""
        if unit not in UNITS_MIN:
            raise self.error(unit_column, unit, f"a time unit, one of {', '.join(UNITS_MIN)}")
        return x * UNITS_MIN[unit]

    def when(self, column: str) -> dt.datetime:
        """A date and time written ``MM/DD/YY HH:MM:SS``."""
        text = self.text(column, required=True)
        try:
            return dt.datetime.strptime(text, DATE_FORMAT)
        except ValueError:
            raise self.error(column, text, _DATE_EXPECTED) from None

    def choice(self, column: str, names: Mapping[str, T], what: str) -> T:
        """The entry of ``names`` named in ``column``; ``what`` says where the names come from."""
        text = self.text(column, required=True)
        if text not in names:
            listed = ", ".join(list(names)[:20]) + (f", ... ({len(names):,} in all)" if len(names) > 20 else "")
            raise self.error(column, text, f"{what}: {listed}" if names else f"{what} (there are none)")
        return names[text]


def decode(data: bytes, file: str | Path, *, table: bool = True) -> str:
    """``data`` as UTF-8 text (a leading byte-order mark dropped); the first byte that is not UTF-8 is refused by
    its line and column: the table column under it (``table``), else the byte's position on the line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        start = data.rfind(b"\n", 0, exc.start) + 1
        end = data.find(b"\n", exc.start)
        text = data[start : end if end >= 0 else len(data)]
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start : exc.start + 1]
        where, value = f"line {line}, column {exc.start - start + 1}", text
        if table:
            field_no = data.count(b"\t", start, exc.start)
            header = data[: data.find(b"\n") if b"\n" in data else len(data)].decode("utf-8", "replace").split("\t")
            if line > 1 and field_no < len(header):
                where = f"line {line}, column {header[field_no].strip()}"
            value = text.split(b"\t")[field_no]
        expected = f"UTF-8 text (the byte {bad!r} at offset {exc.start:,} is not UTF-8; save the file as UTF-8)"
        raise refuse(file, where, value, expected) from None


def _parse(text: str, file: Path) -> tuple[int, list[str], list[tuple[int, list[str]]]]:
    """The header's line and names, and each data line's number and fields."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t", quoting=csv.QUOTE_NONE)
    header: list[str] | None = None
    header_line = 1
    records: list[tuple[int, list[str]]] = []
    try:
        for fields in reader:
            if not "".join(fields).strip():  # a blank line (or one of tabs only) carries nothing
                continue
            if header is None:
                header, header_line = [f.strip() for f in fields], reader.line_num
            else:
                records.append((reader.line_num, fields))
    except csv.Error as exc:
        expected = f"tab-separated text, each field at most {csv.field_size_limit():,} characters"
        raise refuse(file, f"line {reader.line_num}", clip(exc), expected) from None
    return header_line, header or [], records


def read_table(path: Path, columns: tuple[str, ...], what: str, *, rows_required: bool = True) -> Table:
    """The table in ``path``, whose header must name every one of ``columns``; ``what`` says what the file
    holds (named when it is missing); ``rows_required``: refuse a table without data rows.

    Raises
    ------
    FabFormatError
        Missing, not an ordinary file, larger than :data:`MAX_TABLE_BYTES`, not UTF-8, empty, a column missing or
        given twice, or no data rows.
    """
    try:
        data = read_regular(path, MAX_TABLE_BYTES)
    except FileProblem as exc:
        expected = f"an ordinary UTF-8 AutoSched AP text file of at most {MAX_TABLE_BYTES:,} bytes: {what}"
        raise refuse(path, "", str(exc), expected) from None
    header_line, header, records = _parse(decode(data, path), path)
    wanted = f"a tab-separated header row naming the columns {', '.join(columns)}"
    if not header:
        raise refuse(path, "", "an empty file", f"{wanted}, then the rows: {what}")
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        if name and name in seen:
            raise refuse(
                path, f"line {header_line}, column {i + 1}", name, f"each column once (it is column {seen[name] + 1})"
            )
        seen.setdefault(name, i)
    missing = [c for c in columns if c not in seen]
    if missing:
        issues = [
            InputIssue(str(path), f"line {header_line} (the header)", header, f"a column {c} (renamed or missing?)")
            for c in missing
        ]
        raise FabFormatError(issues)
    if rows_required and not records:
        raise refuse(path, "", "a header and no rows", f"at least one row after the header: {what}")
    return Table(path, header, records)
