"""Races in the results store, beside runs, plans and sweeps: one row per race (its file's text and the whole
result of ``fab2token race --json``), and tidy tables of each player's month-by-month race (compute installed, the
largest run it could finish, what held it back) and of each world pool's capacity, requests and grants, so races
can be listed, shown, queried with SQL and opened on the dashboard.

Race ids come from the same space as run and plan ids. A race is written in one transaction; its tables are
created with the first race a store takes (older stores keep working).
"""

from __future__ import annotations

import datetime as _dt
import json
import uuid
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from fab2token.errors import clip
from fab2token.io.storefile import StoreError, _connect, _reading, _transaction, has_table, insert_frames, one_by_prefix

__all__ = ["RACE_TABLES", "save_race", "list_races", "load_race", "is_race"]

RACE_TABLES = ("race_players", "race_world")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS races (
    race_id VARCHAR PRIMARY KEY, created_at TIMESTAMP NOT NULL, race_name VARCHAR, race_file VARCHAR,
    race_text VARCHAR NOT NULL, players INTEGER NOT NULL, months INTEGER NOT NULL, result_json VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS race_players (
    race_id VARCHAR NOT NULL, player VARCHAR NOT NULL, month VARCHAR NOT NULL, compute_flop_per_s DOUBLE,
    largest_run_flop DOUBLE, binding VARCHAR
);
CREATE TABLE IF NOT EXISTS race_world (
    race_id VARCHAR NOT NULL, resource VARCHAR NOT NULL, pool VARCHAR NOT NULL, rule VARCHAR, unit VARCHAR,
    month VARCHAR NOT NULL, capacity DOUBLE, requested DOUBLE, granted DOUBLE, price_usd DOUBLE
);
"""


def _frames(race_id: str, d: dict[str, Any]) -> list[tuple[str, pd.DataFrame]]:
    months = d["month_labels"]
    players = pd.DataFrame(
        [
            (race_id, p["name"], m, c, r, b)
            for p in d["players"]
            for m, c, r, b in zip(
                months,
                p["compute_flop_per_s_by_month"],
                p["largest_run_flop_by_month"],
                p["binding_by_month"],
                strict=True,
            )
        ],
        columns=["race_id", "player", "month", "compute_flop_per_s", "largest_run_flop", "binding"],
    )
    world = pd.DataFrame(
        [
            (race_id, w["resource"], w["key"], w["rule"], w["unit"], m, c, q, g, pr)
            for w in d["world"]
            for m, c, q, g, pr in zip(
                months,
                w["capacity_by_month"],
                w["requested_by_month"],
                w["granted_by_month"],
                w["price_usd_by_month"],
                strict=True,
            )
        ],
        columns=[
            "race_id",
            "resource",
            "pool",
            "rule",
            "unit",
            "month",
            "capacity",
            "requested",
            "granted",
            "price_usd",
        ],
    )
    return [("race_players", players), ("race_world", world)]


def save_race(db: str | Path, result: dict[str, Any], race_text: str, race_file: str = "") -> str:
    """Store a race (the dict of ``fab2token race --json``); returns its id. All or nothing."""
    race_id = uuid.uuid4().hex[:12]
    row = [
        race_id,
        _dt.datetime.now(_dt.UTC).replace(tzinfo=None),
        result["race"],
        race_file,
        race_text,
        len(result["players"]),
        len(result["month_labels"]),
        json.dumps(result, default=float),
    ]
    frames = _frames(race_id, result)

    def insert(con: duckdb.DuckDBPyConnection) -> None:
        con.execute(_SCHEMA)
        con.execute("INSERT INTO races VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
        insert_frames(con, frames)

    path = Path(db)
    _transaction(_connect(path), path, "store the race", insert)
    return race_id


def list_races(db: str | Path) -> list[dict[str, Any]]:
    """Stored races, newest first: id, time, race name, file, players and months."""
    with _reading(db) as con:
        if not has_table(con, "races"):
            return []
        rows = con.execute(
            "SELECT race_id, created_at, race_name, race_file, players, months FROM races ORDER BY created_at DESC"
        ).fetchall()
    keys = ("race_id", "created_at", "race", "file", "players", "months")
    return [dict(zip(keys, (r[0], r[1].isoformat(timespec="seconds"), *r[2:]), strict=True)) for r in rows]


def is_race(db: str | Path, race_id: str) -> bool:
    """Whether ``race_id`` (a whole id or a prefix) names a stored race."""
    with _reading(db) as con:
        if not race_id or not has_table(con, "races"):
            return False
        return bool(con.execute("SELECT count(*) FROM races WHERE starts_with(race_id, ?)", [race_id]).fetchone()[0])


def load_race(db: str | Path, race_id: str) -> dict[str, Any]:
    """One stored race: ``race_id``, ``created_at``, ``race``, ``file``, ``race_text`` and ``result`` (the keys of
    ``fab2token race --json``). ``race_id`` may be a unique prefix, taken literally.

    Raises
    ------
    StoreError
        No such race, an ambiguous prefix, or a damaged record.
    """
    with _reading(db) as con:
        rows = (
            con.execute(
                "SELECT race_id, created_at, race_name, race_file, race_text, result_json FROM races "
                "WHERE starts_with(race_id, ?)",
                [race_id],
            ).fetchall()
            if race_id and has_table(con, "races")
            else []
        )
    rid, created, name, file, text, result = one_by_prefix(db, rows, race_id, "race", "races")
    try:
        parsed = json.loads(result)
    except ValueError as exc:
        raise StoreError(f"{clip(db)}: race {rid}: its stored result is damaged ({clip(exc)})") from None
    return {
        "race_id": rid,
        "created_at": created.isoformat(timespec="seconds"),
        "race": name,
        "file": file,
        "race_text": text,
        "result": parsed,
    }
