"""Sweeps in the results store, beside runs and plans: one row per sweep, and each chunk of draws committed in one
transaction as it finishes (its inputs, outcomes, monthly series and binding constraints, and a row in
``sweep_chunks`` saying it is there), so that a sweep killed at any point keeps every finished chunk and
``sweep --resume`` computes only the chunks not yet stored.

The sweep tables are created with the first sweep a store takes. Sweep ids come from the same space as run ids.
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

from fab2token.errors import clip, shown
from fab2token.io.storefile import StoreError, _connect, _reading, _transaction, has_table

__all__ = [
    "SWEEP_TABLES",
    "create_sweep",
    "save_chunk",
    "finish_sweep",
    "drop_sweep",
    "mark_sweep",
    "stored_chunks",
    "list_sweeps",
    "load_sweep",
    "is_sweep",
    "load_sweep_arrays",
]

SWEEP_TABLES = ("sweep_chunks", "sweep_inputs", "sweep_outcomes", "sweep_series", "sweep_binding")
_SWEEP_SCHEMA = """
CREATE TABLE IF NOT EXISTS sweeps (
    sweep_id VARCHAR PRIMARY KEY, created_at TIMESTAMP NOT NULL, scenario_name VARCHAR, scenario_file VARCHAR,
    scenario_text VARCHAR NOT NULL, draws INTEGER NOT NULL, seed BIGINT NOT NULL, chunk_draws INTEGER NOT NULL,
    method VARCHAR NOT NULL, inputs_json VARCHAR NOT NULL, months_json VARCHAR NOT NULL, units_json VARCHAR,
    status VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS sweep_chunks (
    sweep_id VARCHAR NOT NULL, chunk INTEGER NOT NULL, first_draw INTEGER NOT NULL, draws INTEGER NOT NULL,
    stored_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS sweep_inputs (sweep_id VARCHAR NOT NULL, draw INTEGER, input VARCHAR, value DOUBLE);
CREATE TABLE IF NOT EXISTS sweep_outcomes (sweep_id VARCHAR NOT NULL, draw INTEGER, outcome VARCHAR, value DOUBLE);
CREATE TABLE IF NOT EXISTS sweep_series (
    sweep_id VARCHAR NOT NULL, variable VARCHAR, draw INTEGER, month INTEGER, value DOUBLE
);
CREATE TABLE IF NOT EXISTS sweep_binding (sweep_id VARCHAR NOT NULL, draw INTEGER, month INTEGER, binding VARCHAR);
"""


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC).replace(tzinfo=None)


def create_sweep(db: str | Path, meta: dict[str, Any]) -> str:
    """Record a new sweep (``scenario_name``, ``scenario_file``, ``scenario_text``, ``draws``, ``seed``,
    ``chunk_draws``, ``method``, ``inputs``, ``months``); returns its id."""
    sweep_id = uuid.uuid4().hex[:12]
    row = [
        sweep_id,
        _now(),
        meta["scenario_name"],
        meta["scenario_file"],
        meta["scenario_text"],
        int(meta["draws"]),
        int(meta["seed"]),
        int(meta["chunk_draws"]),
        meta["method"],
        json.dumps(meta["inputs"]),
        json.dumps(meta["months"]),
        None,
        "running",
    ]

    def insert(con: duckdb.DuckDBPyConnection) -> None:
        con.execute(_SWEEP_SCHEMA)
        con.execute("INSERT INTO sweeps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)

    path = Path(db)
    _transaction(_connect(path), path, "store the sweep", insert)
    return sweep_id


def _long(sweep_id: str, first: int, arrays: dict[str, np.ndarray], key: str) -> pd.DataFrame:
    """(n,) arrays by name -> tidy rows (sweep_id, draw, key, value)."""
    frames = [
        pd.DataFrame(
            {"sweep_id": sweep_id, "draw": first + np.arange(len(v)), key: name, "value": np.asarray(v, float)}
        )
        for name, v in arrays.items()
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _series_rows(sweep_id: str, first: int, series: dict[str, np.ndarray]) -> pd.DataFrame:
    frames = []
    for name, v in series.items():
        n, m = v.shape
        frames.append(
            pd.DataFrame(
                {
                    "sweep_id": sweep_id,
                    "variable": name,
                    "draw": np.repeat(first + np.arange(n), m),
                    "month": np.tile(np.arange(m), n),
                    "value": v.astype(float).ravel(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def save_chunk(db: str | Path, sweep_id: str, chunk: int, inputs: dict[str, np.ndarray], result: Any) -> None:
    """Commit one chunk of draws (a :class:`~fab2token.sweep.outcomes.ChunkResult` and the inputs it drew), all or
    nothing."""
    n, m = result.binding.shape
    binding = pd.DataFrame(
        {
            "sweep_id": sweep_id,
            "draw": np.repeat(result.first + np.arange(n), m),
            "month": np.tile(np.arange(m), n),
            "binding": result.binding.ravel(),
        }
    )
    frames = [
        ("sweep_inputs", _long(sweep_id, result.first, inputs, "input")),
        ("sweep_outcomes", _long(sweep_id, result.first, result.outcomes, "outcome")),
        ("sweep_series", _series_rows(sweep_id, result.first, result.series)),
        ("sweep_binding", binding),
    ]

    def insert(con: duckdb.DuckDBPyConnection) -> None:
        for table, df in frames:
            if len(df):
                con.register("_frame", df)
                con.execute(f"INSERT INTO {table} SELECT * FROM _frame")
                con.unregister("_frame")
        con.execute("INSERT INTO sweep_chunks VALUES (?, ?, ?, ?, ?)", [sweep_id, chunk, result.first, n, _now()])
        con.execute("UPDATE sweeps SET units_json = ? WHERE sweep_id = ?", [json.dumps(result.units), sweep_id])

    path = Path(db)
    _transaction(_connect(path), path, f"store draws {result.first}-{result.first + n - 1} of sweep {sweep_id}", insert)


def drop_sweep(db: str | Path, sweep_id: str) -> None:
    """Remove a sweep and every row of it (exact id), in one transaction."""
    path = Path(db)

    def delete(con: duckdb.DuckDBPyConnection) -> None:
        for table in (*SWEEP_TABLES, "sweeps"):
            con.execute(f"DELETE FROM {table} WHERE sweep_id = ?", [sweep_id])

    _transaction(_connect(path), path, f"remove sweep {sweep_id}", delete)


def mark_sweep(db: str | Path, sweep_id: str, status: str) -> None:
    """Set a sweep's status (``complete``, or why it stopped)."""
    path = Path(db)
    _transaction(
        _connect(path),
        path,
        f"mark sweep {sweep_id}",
        lambda con: con.execute("UPDATE sweeps SET status = ? WHERE sweep_id = ?", [status, sweep_id]),
    )


def finish_sweep(db: str | Path, sweep_id: str) -> None:
    """Mark a sweep whose every chunk is stored as complete."""
    path = Path(db)
    _transaction(
        _connect(path),
        path,
        f"complete sweep {sweep_id}",
        lambda con: con.execute("UPDATE sweeps SET status = 'complete' WHERE sweep_id = ?", [sweep_id]),
    )


def _has_sweeps(con: duckdb.DuckDBPyConnection) -> bool:
    return has_table(con, "sweeps")


def stored_chunks(db: str | Path, sweep_id: str) -> set[int]:
    """The chunks of a sweep already in the store."""
    with _reading(db) as con:
        rows = con.execute("SELECT chunk FROM sweep_chunks WHERE sweep_id = ?", [sweep_id]).fetchall()
    return {int(r[0]) for r in rows}


def list_sweeps(db: str | Path) -> list[dict[str, Any]]:
    """Stored sweeps, newest first: id, time, scenario, draws asked and stored, seed, method and status."""
    with _reading(db) as con:
        if not _has_sweeps(con):
            return []
        rows = con.execute(
            "SELECT s.sweep_id, s.created_at, s.scenario_name, s.draws, s.seed, s.method, s.status, "
            "coalesce((SELECT sum(c.draws) FROM sweep_chunks c WHERE c.sweep_id = s.sweep_id), 0) "
            "FROM sweeps s ORDER BY s.created_at DESC"
        ).fetchall()
    keys = ("sweep_id", "created_at", "scenario", "draws", "seed", "method", "status", "draws_stored")
    return [dict(zip(keys, (r[0], r[1].isoformat(timespec="seconds"), *r[2:7], int(r[7])), strict=True)) for r in rows]


def is_sweep(db: str | Path, sweep_id: str) -> bool:
    """Whether ``sweep_id`` (a whole id or a prefix) names a stored sweep."""
    with _reading(db) as con:
        if not _has_sweeps(con) or not sweep_id:
            return False
        return bool(con.execute("SELECT count(*) FROM sweeps WHERE starts_with(sweep_id, ?)", [sweep_id]).fetchone()[0])


def load_sweep(db: str | Path, sweep_id: str) -> dict[str, Any]:
    """One stored sweep's record; ``sweep_id`` may be a unique prefix, taken literally.

    Raises
    ------
    StoreError
        No such sweep, or an ambiguous prefix.
    """
    cols = (
        "sweep_id, created_at, scenario_name, scenario_file, scenario_text, draws, seed, chunk_draws, method, "
        "inputs_json, months_json, units_json, status"
    )
    with _reading(db) as con:
        rows = (
            con.execute(f"SELECT {cols} FROM sweeps WHERE starts_with(sweep_id, ?)", [sweep_id]).fetchall()
            if _has_sweeps(con) and sweep_id
            else []
        )
    rows = [r for r in rows if r[0] == sweep_id] or rows
    if not rows:
        raise StoreError(f"{clip(db)}: no sweep with id {shown(sweep_id)} (see `fab2token sweeps --db {clip(db)}`)")
    if len(rows) > 1:
        raise StoreError(f"{clip(db)}: sweep id prefix {shown(sweep_id)} is ambiguous: {', '.join(r[0] for r in rows)}")
    r = rows[0]
    return {
        "sweep_id": r[0],
        "created_at": r[1].isoformat(timespec="seconds"),
        "scenario": r[2],
        "file": r[3],
        "scenario_text": r[4],
        "draws": int(r[5]),
        "seed": int(r[6]),
        "chunk_draws": int(r[7]),
        "method": r[8],
        "inputs": json.loads(r[9]),
        "months": json.loads(r[10]),
        "units": json.loads(r[11]) if r[11] else {},
        "status": r[12],
    }


def _wide(con: duckdb.DuckDBPyConnection, table: str, key: str, sweep_id: str, draws: np.ndarray) -> dict:
    res = con.execute(
        f"SELECT {key}, draw, value FROM {table} WHERE sweep_id = ? ORDER BY {key}, draw", [sweep_id]
    ).fetchnumpy()
    pos = np.searchsorted(draws, res["draw"])
    out: dict[str, np.ndarray] = {}
    for name in dict.fromkeys(res[key].tolist()):
        v = np.full(len(draws), np.nan)
        sel = res[key] == name
        v[pos[sel]] = res["value"][sel]
        out[str(name)] = v
    return out


def load_sweep_arrays(db: str | Path, sweep_id: str) -> dict[str, Any]:
    """A sweep's stored draws as arrays: ``draw`` (the draw numbers stored, sorted), ``inputs`` and ``outcomes``
    (name -> (draw,)), ``series`` (variable -> (draw, month)) and ``binding`` ((draw, month) names)."""
    meta = load_sweep(db, sweep_id)
    sid, m = meta["sweep_id"], len(meta["months"])
    with _reading(db) as con:
        draws = np.sort(
            con.execute("SELECT DISTINCT draw FROM sweep_binding WHERE sweep_id = ?", [sid]).fetchnumpy()["draw"]
        ).astype(np.int64)
        inputs = _wide(con, "sweep_inputs", "input", sid, draws)
        outcomes = _wide(con, "sweep_outcomes", "outcome", sid, draws)
        names = [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT variable FROM sweep_series WHERE sweep_id = ? ORDER BY variable", [sid]
            ).fetchall()
        ]
        series: dict[str, np.ndarray] = {}
        for name in names:  # one variable at a time: no column of names as long as the table
            s = con.execute(
                "SELECT draw, month, value FROM sweep_series WHERE sweep_id = ? AND variable = ?", [sid, name]
            ).fetchnumpy()
            v = np.full((len(draws), m), np.nan)
            v[np.searchsorted(draws, s["draw"]), s["month"]] = s["value"]
            series[str(name)] = v
        b = con.execute(
            "SELECT draw, month, binding FROM sweep_binding WHERE sweep_id = ? ORDER BY draw, month", [sid]
        ).fetchnumpy()
    binding = np.full((len(draws), m), "", dtype=object)
    binding[np.searchsorted(draws, b["draw"]), b["month"]] = b["binding"]
    return {"meta": meta, "draw": draws, "inputs": inputs, "outcomes": outcomes, "series": series, "binding": binding}
