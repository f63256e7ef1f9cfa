"""Catalog tables shipped with fab2token.

Every table is a CSV file in this folder with a ``source`` column filled on every row. Numbers are plain
floats in the unit their column name carries; an empty cell means "not published" and stays NaN so that a
model needing it can ask the user for it instead of guessing.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from fab2token.errors import CatalogError

__all__ = [
    "TABLES",
    "load_table",
    "table_rows",
    "lookup",
    "resolve_name",
    "overhead",
    "numeric_columns",
    "compute_efficiency",
    "precisions",
    "COMPUTE_FORMAT",
    "PRECISIONS",
    "STATUSES",
]

TABLES: dict[str, str] = {
    "accelerators": "name",
    "process_nodes": "node",
    "overheads": "parameter",
    "models": "name",
    "cooling": "kind",
    "optics": "name",
}

LONG_TABLES: tuple[str, ...] = ("climate", "world", "prices", "gemm_shapes", "attention_kernels")
"""Tables with several rows per name (one per month, shape or sequence length), read with :func:`table_rows`; not
scenario-overridable."""

_TEXT_COLUMNS = {
    "kind",
    "kernel",
    "pass",
    "causal",
    "name",
    "aliases",
    "vendor",
    "process_node",
    "source",
    "notes",
    "node",
    "foundry",
    "parameter",
    "unit",
    "region",
    "station",
    "range_kind",
    "placement",
    "status",
    "precisions",
    "resource",
    "key",
    "from",
    "accelerators",
    "accelerator",
    "offering",
    "date",
}

PRECISIONS: tuple[str, ...] = ("fp16", "bf16", "fp8", "fp6", "fp4", "int8", "int4")
"""Tensor-core number formats the accelerators' ``precisions`` column may list (semicolon-separated)."""
STATUSES: tuple[str, ...] = ("shipping", "announced")
"""Values of the accelerators' ``status`` column: sold and delivered, or announced with preliminary figures."""


def _parse(column: str, text: str) -> Any:
    if column in _TEXT_COLUMNS:
        return text
    if text.strip() == "":
        return math.nan
    return float(text)


@cache
def _read(table: str) -> tuple[tuple[str, ...], tuple[dict[str, Any], ...]]:
    if table not in TABLES and table not in LONG_TABLES:
        raise CatalogError(f"unknown catalog table {table!r}; known tables: {', '.join((*TABLES, *LONG_TABLES))}")
    path = resources.files(__package__).joinpath(f"{table}.csv")
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        columns = tuple(reader.fieldnames or ())
        rows = []
        for lineno, raw in enumerate(reader, start=2):
            try:
                rows.append({c: _parse(c, raw[c] or "") for c in columns})
            except ValueError as exc:
                raise CatalogError(f"catalog/{table}.csv line {lineno}: {exc}") from None
            if table == "accelerators":
                _check_accelerator(rows[-1], lineno)
    return columns, tuple(rows)


def _check_accelerator(row: Mapping[str, Any], lineno: int) -> None:
    """A shipped accelerator row names its status and only known precisions."""
    where = f"catalog/accelerators.csv line {lineno} ({row.get('name')})"
    if row.get("status") not in STATUSES:
        raise CatalogError(f"{where}: status {row.get('status')!r} is not one of {', '.join(STATUSES)}")
    unknown = [p for p in precisions(row) if p not in PRECISIONS]
    if unknown:
        raise CatalogError(f"{where}: unknown precision(s) {', '.join(unknown)}; known: {', '.join(PRECISIONS)}")


def precisions(row: Mapping[str, Any]) -> tuple[str, ...]:
    """The tensor-core formats an accelerator row lists in its ``precisions`` column, in order (empty when the row
    lists none, e.g. a scenario-defined accelerator)."""
    text = row.get("precisions")
    if not isinstance(text, str):
        return ()
    return tuple(p.strip().lower() for p in text.split(";") if p.strip())


#: the tensor-core format a served weight precision computes in (int8 and int4 weights are weight-only: stored small,
#: computed in a wider format, so any accelerator serves them; the block-scaled 4-bit formats compute in fp4)
COMPUTE_FORMAT: dict[str, str | None] = {
    "bf16": "bf16",
    "fp16": "fp16",
    "fp8": "fp8",
    "nvfp4": "fp4",
    "mxfp4": "fp4",
    "int8": None,
    "int4": None,
}


def numeric_columns(table: str) -> list[str]:
    """Columns of ``table`` that hold numbers (everything but names, sources and notes)."""
    columns, _ = _read(table)
    return [c for c in columns if c not in _TEXT_COLUMNS]


def load_table(table: str, overrides: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """Rows of a catalog table keyed by their name, with scenario overrides applied.

    An override of an existing row replaces the given fields; an override naming a new row adds it
    (missing numeric fields are NaN; ``source`` defaults to ``"scenario"``).
    """
    columns, rows = _read(table)
    key = TABLES[table]
    out = {r[key]: dict(r) for r in rows}
    for name, fields in (overrides or {}).items():
        canonical = resolve_name(table, name, out, missing_ok=True) or name
        row = out.setdefault(
            canonical, {c: ("" if c in _TEXT_COLUMNS else math.nan) for c in columns} | {key: canonical}
        )
        if canonical not in {r[key] for r in rows}:
            row["source"] = "scenario"
        for field, value in fields.items():
            row[field] = value
        if any(f in fields for f in columns if f not in ("source", "notes")) and canonical in {r[key] for r in rows}:
            row["notes"] = (row.get("notes") or "") + " [overridden by scenario]"
    return out


@cache
def _index(table: str) -> dict[str, dict[str, Any]]:
    """The shipped rows by name, shared: read, never handed out (:func:`lookup` copies the row it returns)."""
    return {r[TABLES[table]]: r for r in _read(table)[1]}


@cache
def column_values(table: str, column: str) -> tuple[str, ...]:
    """The distinct values of a column of a shipped table, sorted (e.g. the regions of ``climate``)."""
    return tuple(sorted({str(r[column]) for r in _read(table)[1]}))


def table_rows(table: str) -> list[dict[str, Any]]:
    """The shipped rows of a table, in file order."""
    return [dict(r) for r in _read(table)[1]]


def resolve_name(
    table: str, name: str, rows: Mapping[str, Mapping[str, Any]] | None = None, missing_ok: bool = False
) -> str | None:
    """Canonical row name for ``name``: exact, case-insensitive, or one of the row's ``aliases``."""
    rows = rows if rows is not None else _index(table)
    if name in rows:
        return name
    wanted = name.strip().lower()
    for canonical, row in rows.items():
        names = [canonical, *str(row.get("aliases") or "").split(";")]
        if wanted in {n.strip().lower() for n in names if n.strip()}:
            return canonical
    if missing_ok:
        return None
    raise CatalogError(f"{name!r} is not in the {table} catalog; known: {', '.join(rows)}")


def lookup(table: str, name: str, overrides: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """One row of a table (by name or alias), with overrides applied."""
    if not overrides:  # the shipped row, copied alone (not the whole table)
        shipped = _index(table)
        return dict(shipped[str(resolve_name(table, name, shipped))])
    rows = load_table(table, overrides)
    canonical = resolve_name(table, name, rows)
    assert canonical is not None
    return rows[canonical]


def overhead(parameter: str, overrides: Mapping[str, Mapping[str, Any]] | None = None) -> float:
    """A value from ``overheads.csv``, with a scenario's ``catalog.overheads`` overrides applied."""
    return float(lookup("overheads", parameter, overrides)["value"])


def compute_efficiency(row: Mapping[str, Any], fp8: bool = False) -> float:
    """Achievable fraction of an accelerator's peak matmul rate: its measured FP8 or BF16 efficiency, else the
    sourced default in ``overheads.csv``. ``fp8`` says which peak the caller uses."""
    for column in (("compute_efficiency_fp8_frac",) if fp8 else ()) + ("compute_efficiency_frac",):
        value = row.get(column, math.nan)
        if isinstance(value, float) and not math.isnan(value):
            return value
    return overhead("compute_efficiency_default_frac")
