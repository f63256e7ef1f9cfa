"""The embedded results store: one DuckDB file, a ``runs`` table and tidy time-series tables.

A run is written in one transaction: a failure leaves the file as it was.
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

from fab2token.errors import Fab2TokenError

__all__ = ["DEFAULT_DB", "StoreError", "save_run", "list_runs", "load_run", "load_dataset"]

DEFAULT_DB = "fab2token.duckdb"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,
    created_at TIMESTAMP NOT NULL,
    scenario_name VARCHAR,
    scenario_file VARCHAR,
    scenario_text VARCHAR NOT NULL,
    summary_json VARCHAR NOT NULL,
    attrs_json VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS series_month (
    run_id VARCHAR NOT NULL, month VARCHAR NOT NULL, variable VARCHAR NOT NULL, value DOUBLE
);
CREATE TABLE IF NOT EXISTS series_month_site (
    run_id VARCHAR NOT NULL, month VARCHAR NOT NULL, site VARCHAR NOT NULL, variable VARCHAR NOT NULL,
    value DOUBLE
);
CREATE TABLE IF NOT EXISTS series_run_month (
    run_id VARCHAR NOT NULL, run VARCHAR NOT NULL, month VARCHAR NOT NULL, variable VARCHAR NOT NULL, value DOUBLE
);
CREATE TABLE IF NOT EXISTS series_accelerator_month (
    run_id VARCHAR NOT NULL, accelerator VARCHAR NOT NULL, month VARCHAR NOT NULL, variable VARCHAR NOT NULL,
    value DOUBLE
);
CREATE TABLE IF NOT EXISTS series_accelerator_month_site (
    run_id VARCHAR NOT NULL, accelerator VARCHAR NOT NULL, month VARCHAR NOT NULL, site VARCHAR NOT NULL,
    variable VARCHAR NOT NULL, value DOUBLE
);
CREATE TABLE IF NOT EXISTS labels_month (
    run_id VARCHAR NOT NULL, month VARCHAR NOT NULL, variable VARCHAR NOT NULL, label VARCHAR
);
CREATE TABLE IF NOT EXISTS variables (
    run_id VARCHAR NOT NULL, variable VARCHAR NOT NULL, dims VARCHAR NOT NULL, units VARCHAR
);
"""


class StoreError(Fab2TokenError):
    """The results store cannot be opened or does not hold what was asked for."""


def _connect(db: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    path = Path(db)
    if read_only and not path.exists():
        raise StoreError(f"{path}: no results store here (run `fab2token run SCENARIO --db {path}` first)")
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        raise StoreError(f"{path}: cannot open the results store ({exc})") from None
    if not read_only:
        con.execute(_SCHEMA)
    return con


def _tidy(ds: xr.Dataset, dims: tuple[str, ...], run_id: str) -> pd.DataFrame:
    names = [n for n, v in ds.data_vars.items() if v.dims == dims and v.dtype.kind in "fiub"]
    if not names:
        return pd.DataFrame()
    df = ds[names].to_dataframe()[names].reset_index().melt(id_vars=list(dims), var_name="variable", value_name="value")
    df.insert(0, "run_id", run_id)
    df["value"] = df["value"].astype(float)
    return df[["run_id", *dims, "variable", "value"]]


def save_run(
    db: str | Path,
    ds: xr.Dataset,
    summary: dict[str, Any],
    scenario_text: str,
    scenario_file: str = "",
    run_id: str | None = None,
) -> str:
    """Store a run; returns its id. All or nothing: on any error the store is unchanged."""
    run_id = run_id or uuid.uuid4().hex[:12]
    summary = dict(summary, run_id=run_id)
    month_df = _tidy(ds, ("month",), run_id)
    site_df = _tidy(ds, ("month", "site"), run_id)
    run_df = _tidy(ds, ("run", "month"), run_id)
    acc_df = _tidy(ds, ("accelerator", "month"), run_id)
    acc_site_df = _tidy(ds, ("accelerator", "month", "site"), run_id)
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
    attrs = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in ds.attrs.items()}
    attrs["site_pue"] = {str(s): float(p) for s, p in zip(ds["site"].values, ds["pue"].values, strict=True)}
    if "accelerator" in ds.coords:
        attrs["accelerator_kw"] = {
            str(a): float(k) for a, k in zip(ds["accelerator"].values, ds["all_in_it_kw"].values, strict=True)
        }
    con = _connect(db)
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                _dt.datetime.now(_dt.UTC).replace(tzinfo=None),
                summary.get("scenario", ""),
                scenario_file,
                scenario_text,
                json.dumps(summary),
                json.dumps(attrs),
            ],
        )
        for table, df in (
            ("series_month", month_df),
            ("series_month_site", site_df),
            ("series_run_month", run_df),
            ("series_accelerator_month", acc_df),
            ("series_accelerator_month_site", acc_site_df),
            ("labels_month", label_df),
            ("variables", var_df),
        ):
            if len(df):
                con.register("_frame", df)
                con.execute(f"INSERT INTO {table} SELECT * FROM _frame")
                con.unregister("_frame")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.close()
    return run_id


def list_runs(db: str | Path) -> list[dict[str, Any]]:
    """Stored runs, newest first: id, time, scenario name and a few headline numbers."""
    con = _connect(db, read_only=True)
    try:
        rows = con.execute(
            "SELECT run_id, created_at, scenario_name, scenario_file, summary_json FROM runs ORDER BY created_at DESC"
        ).fetchall()
    except duckdb.CatalogException:
        rows = []
    finally:
        con.close()
    out = []
    for run_id, created, name, file, summary_json in rows:
        summary = json.loads(summary_json)
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


def load_run(db: str | Path, run_id: str) -> dict[str, Any]:
    """One stored run: ``run_id``, ``created_at``, ``scenario_text``, ``summary`` (dict) and ``attrs``."""
    con = _connect(db, read_only=True)
    try:
        row = con.execute(
            "SELECT run_id, created_at, scenario_name, scenario_file, scenario_text, summary_json, attrs_json "
            "FROM runs WHERE run_id = ? OR run_id LIKE ? ORDER BY created_at",
            [run_id, f"{run_id}%"],
        ).fetchall()
    except duckdb.CatalogException:
        row = []
    finally:
        con.close()
    if not row:
        raise StoreError(f"{db}: no run with id {run_id!r} (see `fab2token runs --db {db}`)")
    if len(row) > 1:
        raise StoreError(f"{db}: run id prefix {run_id!r} is ambiguous: {', '.join(r[0] for r in row)}")
    rid, created, name, file, text, summary_json, attrs_json = row[0]
    return {
        "run_id": rid,
        "created_at": created.isoformat(timespec="seconds"),
        "scenario": name,
        "file": file,
        "scenario_text": text,
        "summary": json.loads(summary_json),
        "attrs": json.loads(attrs_json),
    }


def load_dataset(db: str | Path, run_id: str) -> xr.Dataset:
    """Rebuild a run's results Dataset from the tidy tables (the same data the report and dashboard read)."""
    meta = load_run(db, run_id)
    rid = meta["run_id"]
    con = _connect(db, read_only=True)
    try:
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
    finally:
        con.close()
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
