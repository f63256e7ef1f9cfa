"""The embedded results store: one DuckDB file, a ``runs`` table and tidy time-series tables.

A run is written in one transaction: a failure leaves the file as it was. A file that is not a fab2token store
(damaged, truncated, another program's DuckDB database, not DuckDB at all) is refused with its name and left
untouched. Only one process may have the file open at a time (DuckDB's lock); a command that finds it locked
waits, saying so, up to :data:`LOCK_WAIT_S`, and a finished run that still cannot be stored is saved to a store of
its own beside it, named in the error, rather than lost.
"""

from __future__ import annotations

import datetime as _dt
import json
import uuid
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import xarray as xr

from fab2token.errors import clip, shown
from fab2token.io.storefile import (
    _TABLES,
    LOCK_WAIT_S,
    StoreBusyError,
    StoreError,
    _connect,
    _reading,
    _transaction,
    check_store,
    insert_frames,
)

__all__ = [
    "DEFAULT_DB",
    "LOCK_WAIT_S",
    "StoreError",
    "StoreBusyError",
    "check_store",
    "save_run",
    "delete_run",
    "list_runs",
    "load_run",
    "load_dataset",
]

DEFAULT_DB = "fab2token.duckdb"
# ids listed when a prefix matches several runs
_MAX_IDS_SHOWN = 10


def _tidy(ds: xr.Dataset, dims: tuple[str, ...], run_id: str) -> pd.DataFrame:
    names = [n for n, v in ds.data_vars.items() if v.dims == dims and v.dtype.kind in "fiub"]
    if not names:
        return pd.DataFrame()
    df = ds[names].to_dataframe()[names].reset_index().melt(id_vars=list(dims), var_name="variable", value_name="value")
    df.insert(0, "run_id", run_id)
    df["value"] = df["value"].astype(float)
    return df[["run_id", *dims, "variable", "value"]]


def _frames(ds: xr.Dataset, run_id: str) -> tuple[dict[str, Any], list[tuple[str, pd.DataFrame]]]:
    """The run's attributes and its rows, table by table, ready to insert."""
    frames = [
        ("series_month", _tidy(ds, ("month",), run_id)),
        ("series_month_site", _tidy(ds, ("month", "site"), run_id)),
        ("series_run_month", _tidy(ds, ("run", "month"), run_id)),
        ("series_accelerator_month", _tidy(ds, ("accelerator", "month"), run_id)),
        ("series_accelerator_month_site", _tidy(ds, ("accelerator", "month", "site"), run_id)),
    ]
    label_names = [n for n, v in ds.data_vars.items() if v.dims == ("month",) and v.dtype.kind in "UO"]
    label_df = pd.DataFrame(
        [
            (run_id, str(m), n, str(lab))
            for n in label_names
            for m, lab in zip(ds["month"].values, ds[n].values, strict=True)
        ],
        columns=["run_id", "month", "variable", "label"],
    )
    var_df = pd.DataFrame(
        [(run_id, n, ",".join(str(d) for d in v.dims), str(v.attrs.get("units", ""))) for n, v in ds.data_vars.items()],
        columns=["run_id", "variable", "dims", "units"],
    )
    frames += [("labels_month", label_df), ("variables", var_df)]
    attrs = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in ds.attrs.items()}
    attrs["site_pue"] = {str(s): float(p) for s, p in zip(ds["site"].values, ds["pue"].values, strict=True)}
    if "accelerator" in ds.coords:
        attrs["accelerator_kw"] = {
            str(a): float(k) for a, k in zip(ds["accelerator"].values, ds["all_in_it_kw"].values, strict=True)
        }
    return attrs, frames


def save_run(
    db: str | Path,
    ds: xr.Dataset,
    summary: dict[str, Any],
    scenario_text: str,
    scenario_file: str = "",
    run_id: str | None = None,
) -> str:
    """Store a run; returns its id. All or nothing: on any error the store is unchanged.

    Raises
    ------
    StoreError
        The store is not a fab2token store, or it cannot be written (the real cause is named).
    StoreBusyError
        Another process kept the store locked for :data:`LOCK_WAIT_S`; the run was then saved to a store of its
        own beside it (``NAME.RUNID.duckdb``), named in the message, so the finished result is not lost.
    """
    run_id = run_id or uuid.uuid4().hex[:12]
    summary = dict(summary, run_id=run_id)
    attrs, frames = _frames(ds, run_id)
    row = [
        run_id,
        _dt.datetime.now(_dt.UTC).replace(tzinfo=None),
        summary.get("scenario", ""),
        scenario_file,
        scenario_text,
        json.dumps(summary),
        json.dumps(attrs),
    ]

    def insert(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)", row)
        insert_frames(con, frames)

    path = Path(db)
    try:
        con = _connect(path)
    except StoreBusyError as busy:
        side = path.with_name(f"{path.stem}.{run_id}{path.suffix or '.duckdb'}")
        try:
            _transaction(_connect(side, wait_s=0.0), side, "store the run", insert)
        except StoreError as exc:
            raise StoreBusyError(f"{busy}; saving the run to {clip(side)} instead failed too: {exc}") from None
        raise StoreBusyError(
            f"{busy}; the finished run {run_id} was saved to {clip(side)} instead "
            f"(`fab2token show {run_id} --db {clip(side)}`)"
        ) from None
    _transaction(con, path, "store the run", insert)
    return run_id


def delete_run(db: str | Path, run_id: str) -> None:
    """Remove one run (exact id) and its series from the store, in one transaction."""
    path = Path(db)

    def delete(con: duckdb.DuckDBPyConnection) -> None:
        for table in (*_TABLES, "runs"):
            con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])

    _transaction(_connect(path), path, f"remove run {run_id}", delete)


def list_runs(db: str | Path) -> list[dict[str, Any]]:
    """Stored runs, newest first: id, time, scenario name and a few headline numbers."""
    with _reading(db) as con:
        try:
            rows = con.execute(
                "SELECT run_id, created_at, scenario_name, scenario_file, summary_json FROM runs "
                "ORDER BY created_at DESC"
            ).fetchall()
        except duckdb.CatalogException:
            rows = []
    out = []
    for run_id, created, name, file, summary_json in rows:
        summary = _json(db, run_id, summary_json)
        out.append(
            {
                "run_id": run_id,
                "created_at": created.isoformat(timespec="seconds"),
                "scenario": name,
                "file": file,
                "months": summary.get("months"),
                "accelerators_installed_end": summary.get("accelerators_installed_end"),
                "capex_usd_total": summary.get("capex_usd_total"),
            }
        )
    return out


def _json(db: str | Path, run_id: str, text: str) -> dict[str, Any]:
    try:
        obj = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"{clip(db)}: run {run_id}: its stored summary is damaged ({clip(exc)})") from None
    if not isinstance(obj, dict):
        raise StoreError(f"{clip(db)}: run {run_id}: its stored summary is damaged (not a JSON object)")
    return obj


def load_run(db: str | Path, run_id: str) -> dict[str, Any]:
    """One stored run: ``run_id``, ``created_at``, ``scenario_text``, ``summary`` (dict) and ``attrs``.

    ``run_id`` is the whole id or a unique prefix of it, taken literally (``%`` and ``_`` are not patterns).
    """
    if not run_id:
        raise StoreError(
            f"{clip(db)}: the run id is empty; give an id or a prefix (see `fab2token runs --db {clip(db)}`)"
        )
    with _reading(db) as con:
        try:
            rows = con.execute(
                "SELECT run_id, created_at, scenario_name, scenario_file, scenario_text, summary_json, attrs_json "
                "FROM runs WHERE starts_with(run_id, ?) ORDER BY created_at",
                [run_id],
            ).fetchall()
        except duckdb.CatalogException:
            rows = []
    rows = [r for r in rows if r[0] == run_id] or rows
    if not rows:
        raise StoreError(f"{clip(db)}: no run with id {shown(run_id)} (see `fab2token runs --db {clip(db)}`)")
    if len(rows) > 1:
        ids = ", ".join(r[0] for r in rows[:_MAX_IDS_SHOWN])
        more = f" and {len(rows) - _MAX_IDS_SHOWN:,} more" if len(rows) > _MAX_IDS_SHOWN else ""
        raise StoreError(f"{clip(db)}: run id prefix {shown(run_id)} is ambiguous: {ids}{more}")
    rid, created, name, file, text, summary_json, attrs_json = rows[0]
    return {
        "run_id": rid,
        "created_at": created.isoformat(timespec="seconds"),
        "scenario": name,
        "file": file,
        "scenario_text": text,
        "summary": _json(db, rid, summary_json),
        "attrs": _json(db, rid, attrs_json),
    }


def load_dataset(db: str | Path, run_id: str) -> xr.Dataset:
    """Rebuild a run's results Dataset from the tidy tables (the same data the report and dashboard read)."""
    meta = load_run(db, run_id)
    rid = meta["run_id"]
    with _reading(db) as con:
        m = con.execute("SELECT month, variable, value FROM series_month WHERE run_id = ?", [rid]).df()
        ms = con.execute("SELECT month, site, variable, value FROM series_month_site WHERE run_id = ?", [rid]).df()
        rm = con.execute("SELECT run, month, variable, value FROM series_run_month WHERE run_id = ?", [rid]).df()
        am = con.execute(
            "SELECT accelerator, month, variable, value FROM series_accelerator_month WHERE run_id = ?", [rid]
        ).df()
        ams = con.execute(
            "SELECT accelerator, month, site, variable, value FROM series_accelerator_month_site WHERE run_id = ?",
            [rid],
        ).df()
        lab = con.execute("SELECT month, variable, label FROM labels_month WHERE run_id = ?", [rid]).df()
        var_rows = con.execute("SELECT variable, dims, units FROM variables WHERE run_id = ?", [rid]).fetchall()
        units = {v: u for v, _, u in var_rows}
    months = meta["summary"]["month_labels"]
    sites = list(meta["attrs"]["site_pue"])
    parts = []
    if len(m):
        parts.append(m.pivot(index="month", columns="variable", values="value").to_xarray())
    if len(ms):
        parts.append(ms.set_index(["month", "site", "variable"])["value"].unstack("variable").to_xarray())
    if len(rm):
        parts.append(rm.set_index(["run", "month", "variable"])["value"].unstack("variable").to_xarray())
    if len(am):
        parts.append(am.set_index(["accelerator", "month", "variable"])["value"].unstack("variable").to_xarray())
    if len(ams):
        parts.append(
            ams.set_index(["accelerator", "month", "site", "variable"])["value"].unstack("variable").to_xarray()
        )
    if len(lab):
        parts.append(lab.pivot(index="month", columns="variable", values="label").to_xarray())
    ds = xr.merge(parts).reindex(month=months, site=sites)
    kw_by_type = meta["attrs"].get("accelerator_kw")
    if kw_by_type:
        ds = ds.reindex(accelerator=list(kw_by_type)).assign_coords(
            all_in_it_kw=("accelerator", list(kw_by_type.values()))
        )
    runs = [r["name"] for r in meta["summary"].get("training_runs", [])]
    ds = ds.reindex(run=runs) if "run" in ds.dims else ds.assign_coords(run=runs)
    for name, dims, _ in var_rows:  # variables with no rows (e.g. per-run series of a run-less scenario)
        if name not in ds and dims:
            shape = tuple(ds.sizes.get(d, 0) for d in dims.split(","))
            ds[name] = (tuple(dims.split(",")), np.zeros(shape))
    for name in ds.data_vars:
        if units.get(name):
            ds[name].attrs["units"] = units[name]
    ds = ds.assign_coords(pue=("site", [meta["attrs"]["site_pue"][s] for s in sites]))
    ds.attrs.update({k: v for k, v in meta["attrs"].items() if k not in ("site_pue", "accelerator_kw")})
    return ds
