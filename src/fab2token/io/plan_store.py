"""Plans in the results store, beside the runs: one row per plan, and tidy tables for its build, schedule,
binding limits and every array (series and duals) so that plans can be listed, shown, compared and queried.

Plan ids come from the same space as run ids, so ``fab2token show ID`` finds either. A plan is written in one
transaction; the plan tables are created on the first plan a store takes (stores made before plans existed keep
working and get them then).
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

from fab2token.errors import clip
from fab2token.io.storefile import StoreError, _connect, _reading, _transaction, has_table, insert_frames, one_by_prefix

__all__ = ["PLAN_TABLES", "save_plan", "list_plans", "load_plan", "load_plan_arrays", "is_plan", "under_uncertainty"]

# every dimension a plan's arrays have (hod: hour of day, of the on-site dispatch)
_DIMS = ("run", "accelerator", "site", "month", "hod")
PLAN_TABLES = ("plan_build", "plan_schedule", "plan_binding", "plan_arrays")
_PLAN_SCHEMA = """
CREATE TABLE IF NOT EXISTS plans (
    plan_id VARCHAR PRIMARY KEY, created_at TIMESTAMP NOT NULL, scenario_name VARCHAR, scenario_file VARCHAR,
    scenario_text VARCHAR NOT NULL, status VARCHAR NOT NULL, objective_usd DOUBLE, result_json VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS plan_build (
    plan_id VARCHAR NOT NULL, month VARCHAR, site VARCHAR, accelerator VARCHAR, kind VARCHAR, amount DOUBLE,
    unit VARCHAR
);
CREATE TABLE IF NOT EXISTS plan_schedule (
    plan_id VARCHAR NOT NULL, target VARCHAR NOT NULL, accelerator VARCHAR, site VARCHAR, month VARCHAR,
    accelerators DOUBLE
);
CREATE TABLE IF NOT EXISTS plan_binding (
    plan_id VARCHAR NOT NULL, constraint_name VARCHAR NOT NULL, site VARCHAR, accelerator VARCHAR, month VARCHAR,
    value DOUBLE, unit VARCHAR, months_binding INTEGER, text VARCHAR
);
CREATE TABLE IF NOT EXISTS plan_arrays (
    plan_id VARCHAR NOT NULL, kind VARCHAR NOT NULL, variable VARCHAR NOT NULL, dims VARCHAR NOT NULL,
    run VARCHAR, accelerator VARCHAR, site VARCHAR, month VARCHAR, hod INTEGER, value DOUBLE
);
"""


def _array_rows(plan_id: str, kind: str, arrays: dict[str, xr.DataArray]) -> pd.DataFrame:
    """Every array as tidy rows, one column per dimension (empty where the array lacks it)."""
    frames = []
    for name, da in arrays.items():
        df = da.astype(float).to_dataframe(name="value").reset_index()
        df = df[[*da.dims, "value"]]
        for dim in _DIMS:
            if dim not in df:
                df[dim] = None
        df["plan_id"], df["kind"], df["variable"], df["dims"] = plan_id, kind, name, ",".join(da.dims)
        frames.append(df)
    cols = ["plan_id", "kind", "variable", "dims", *_DIMS, "value"]
    if not frames:
        return pd.DataFrame(columns=cols)
    out = pd.concat(frames, ignore_index=True)[cols]
    for dim in ("run", "accelerator", "site", "month"):
        out[dim] = out[dim].map(lambda v: None if v is None or v is np.nan else str(v)).astype(object)
    out["hod"] = pd.array(out["hod"], dtype="Int64")
    return out


def _frames(plan_id: str, res: Any) -> list[tuple[str, pd.DataFrame]]:
    build = pd.DataFrame(
        [
            (
                plan_id,
                b.get("month"),
                b.get("site"),
                b.get("accelerator"),
                b.get("kind", "it_mw"),  # a plan under uncertainty builds IT MW only
                b.get("amount", b.get("it_mw")),
                b.get("unit", "MW"),
            )
            for b in res.build
        ],
        columns=["plan_id", "month", "site", "accelerator", "kind", "amount", "unit"],
    )
    sched = [
        (plan_id, t["run"], a["accelerator"], a["site"], a["month"], a["accelerators"])
        for t in res.schedule.get("training", [])
        for a in t.get("allocation", [])
    ]
    sched += [
        (plan_id, "inference", r["accelerator"], r["site"], r["month"], r["accelerators"])
        for r in res.schedule.get("inference", [])
    ]
    schedule = pd.DataFrame(sched, columns=["plan_id", "target", "accelerator", "site", "month", "accelerators"])
    rows = [
        (
            plan_id,
            b["constraint"],
            b.get("site"),
            b.get("accelerator"),
            b["month"],
            b.get("dual", b.get("value")),
            b["unit"],
            b["months_binding"],
            b["text"],
        )
        for b in [*res.binding, *res.binding_if_short]
    ]
    binding = pd.DataFrame(
        rows,
        columns=[
            "plan_id",
            "constraint_name",
            "site",
            "accelerator",
            "month",
            "value",
            "unit",
            "months_binding",
            "text",
        ],
    )
    arrays = pd.concat([_array_rows(plan_id, "series", res.series), _array_rows(plan_id, "dual", res.duals)])
    return [("plan_build", build), ("plan_schedule", schedule), ("plan_binding", binding), ("plan_arrays", arrays)]


def save_plan(db: str | Path, res: Any, scenario_text: str, scenario_name: str = "", scenario_file: str = "") -> str:
    """Store a plan (a :class:`~fab2token.plan.PlanResult`, or a
    :class:`~fab2token.plan.stochastic.StochasticPlan`: its result then says ``under_uncertainty``, its objective is
    the expected cost and its one series the shared build); returns its id. All or nothing."""
    plan_id = uuid.uuid4().hex[:12]
    row = [
        plan_id,
        _dt.datetime.now(_dt.UTC).replace(tzinfo=None),
        scenario_name,
        scenario_file,
        scenario_text,
        res.status,
        float(res.objective_usd),
        json.dumps(_stored_result(res), default=float),
    ]
    frames = _frames(plan_id, res)

    def insert(con: duckdb.DuckDBPyConnection) -> None:
        con.execute(_PLAN_SCHEMA)
        con.execute("INSERT INTO plans VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
        insert_frames(con, frames)

    path = Path(db)
    _transaction(_connect(path), path, "store the plan", insert)
    return plan_id


def _stored_result(res: Any) -> dict[str, Any]:
    """What the store keeps of a plan's result: its ``--json`` keys, and for a plan under uncertainty its objective
    (the expected cost) and ``under_uncertainty``, so that every reader tells the two apart."""
    d = res.to_dict()
    if getattr(res, "under_uncertainty", False):
        d |= {"objective_usd": float(res.objective_usd), "under_uncertainty": True}
    return d


def under_uncertainty(result: dict[str, Any]) -> bool:
    """Whether a stored plan's result (``load_plan(...)["result"]``) is a plan under uncertainty."""
    return bool(result.get("under_uncertainty"))


def _has_plans(con: duckdb.DuckDBPyConnection) -> bool:
    return has_table(con, "plans")


def list_plans(db: str | Path) -> list[dict[str, Any]]:
    """Stored plans, newest first: id, time, scenario, status, objective and ``draws`` (a plan under uncertainty's
    draw count, else None)."""
    with _reading(db) as con:
        if not _has_plans(con):
            return []
        rows = con.execute(
            "SELECT plan_id, created_at, scenario_name, scenario_file, status, objective_usd, "
            "CASE WHEN json_extract(result_json, '$.under_uncertainty')::BOOLEAN "
            "THEN json_extract(result_json, '$.draws')::INTEGER END FROM plans ORDER BY created_at DESC"
        ).fetchall()
    return [
        {
            "plan_id": p,
            "created_at": c.isoformat(timespec="seconds"),
            "scenario": n,
            "file": f,
            "status": s,
            "objective_usd": o,
            "draws": d,
        }
        for p, c, n, f, s, o, d in rows
    ]


def is_plan(db: str | Path, plan_id: str) -> bool:
    """Whether ``plan_id`` (a whole id or a prefix) names a stored plan."""
    with _reading(db) as con:
        if not _has_plans(con) or not plan_id:
            return False
        return bool(con.execute("SELECT count(*) FROM plans WHERE starts_with(plan_id, ?)", [plan_id]).fetchone()[0])


def load_plan(db: str | Path, plan_id: str) -> dict[str, Any]:
    """One stored plan: ``plan_id``, ``created_at``, ``scenario``, ``file``, ``scenario_text``, ``status`` and
    ``result`` (the keys of ``fab2token plan --json``). ``plan_id`` may be a unique prefix, taken literally."""
    with _reading(db) as con:
        rows = (
            []
            if not _has_plans(con) or not plan_id
            else con.execute(
                "SELECT plan_id, created_at, scenario_name, scenario_file, scenario_text, status, result_json "
                "FROM plans WHERE starts_with(plan_id, ?)",
                [plan_id],
            ).fetchall()
        )
    pid, created, name, file, text, status, result = one_by_prefix(db, rows, plan_id, "plan", "plans")
    try:
        parsed = json.loads(result)
    except ValueError as exc:
        raise StoreError(f"{clip(db)}: plan {pid}: its stored result is damaged ({clip(exc)})") from None
    return {
        "plan_id": pid,
        "created_at": created.isoformat(timespec="seconds"),
        "scenario": name,
        "file": file,
        "scenario_text": text,
        "status": status,
        "result": parsed,
    }


def load_plan_arrays(db: str | Path, plan_id: str, kind: str = "series") -> dict[str, xr.DataArray]:
    """A stored plan's arrays (``series`` or ``dual``) rebuilt with their dimensions, as the plan had them."""
    pid = load_plan(db, plan_id)["plan_id"]
    with _reading(db) as con:
        df = con.execute("SELECT * FROM plan_arrays WHERE plan_id = ? AND kind = ?", [pid, kind]).df()
    out: dict[str, xr.DataArray] = {}
    for (name, dims), part in df.groupby(["variable", "dims"], sort=False):
        dim_list = [d for d in dims.split(",") if d]
        if not dim_list:
            out[name] = xr.DataArray(float(part["value"].iloc[0]))
            continue
        frame = part[[*dim_list, "value"]].copy()
        if "hod" in dim_list:
            frame["hod"] = frame["hod"].astype(int)
        da = frame.set_index(dim_list)["value"].to_xarray()
        out[name] = da.reindex({d: pd.unique(frame[d]) for d in dim_list})  # the plan's order, not sorted
    return out
