"""The results store's file: opening it safely, refusing what is not a fab2token store, waiting for its lock.

Only one process may have a DuckDB file open at a time. A command that finds the store locked waits, saying so on
stderr, up to :data:`LOCK_WAIT_S`. A file that is not a fab2token store (damaged, truncated, another program's
DuckDB database, not DuckDB at all) is refused with its name and left untouched. :mod:`fab2token.io.store` reads
and writes runs through these.
"""

from __future__ import annotations

import contextlib
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from fab2token.errors import Fab2TokenError, clip

__all__ = ["LOCK_WAIT_S", "StoreError", "StoreBusyError", "check_store", "has_table", "insert_frames", "one_by_prefix"]

# how long a command waits for another process to release the store: writing one run takes ~0.1 s for the bundled
# examples (measured), seconds for a thousand sites, so two minutes queue dozens of simultaneous runs
LOCK_WAIT_S = 120.0
# first and longest pause between two attempts to open a locked store (the pause doubles in between)
_LOCK_PAUSE_S = (0.05, 1.0)
# table names listed when a DuckDB file holds someone else's tables
_MAX_NAMES_SHOWN = 10

_RUNS_COLUMNS = [
    "run_id",
    "created_at",
    "scenario_name",
    "scenario_file",
    "scenario_text",
    "summary_json",
    "attrs_json",
]
# DuckDB's file starts with a main header and two database headers of 4 KiB each (Storage::FILE_HEADER_SIZE in
# DuckDB's storage_info.hpp), then the blocks; a store fab2token wrote measures exactly this plus its blocks
_DUCKDB_HEADER_BYTES = 3 * 4096
_TABLES = (
    "series_month",
    "series_month_site",
    "series_run_month",
    "series_accelerator_month",
    "series_accelerator_month_site",
    "labels_month",
    "variables",
)
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


class StoreBusyError(StoreError):
    """The store stayed locked by another process for longer than :data:`LOCK_WAIT_S`."""


def _note(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return clip(re.sub(r"^[A-Za-z ]*Error: ", "", text))


def _is_lock(exc: BaseException) -> bool:
    return "Could not set lock" in str(exc) or "Conflicting lock" in str(exc)


def _holder(exc: BaseException) -> str:
    m = re.search(r"\(PID (\d+)\)", str(exc))
    return f"PID {m.group(1)}" if m else "another process"


def _foreign(path: Path, why: str) -> StoreError:
    return StoreError(
        f"{clip(path)} is not a fab2token results store (DuckDB): {why}; the file was left as it is "
        "(give another --db, or move this file away)"
    )


def _open_error(path: Path, exc: BaseException) -> StoreError:
    if path.is_dir():
        return StoreError(f"{clip(path)}: is a folder, not a results store file (give --db FOLDER/NAME.duckdb)")
    if not path.exists():
        return StoreError(f"{clip(path)}: cannot create the results store ({_reason(exc)})")
    if "Permission denied" in str(exc):
        return StoreError(f"{clip(path)}: cannot open the results store ({_reason(exc)})")
    return _foreign(path, _reason(exc))


def _open(path: Path, read_only: bool, wait_s: float) -> duckdb.DuckDBPyConnection:
    """Connect, waiting (with a note on stderr) while another process holds the lock, at most ``wait_s``."""
    return _open_waited(path, read_only, wait_s)[0]


def _open_waited(
    path: Path, read_only: bool, wait_s: float, deadline: float | None = None
) -> tuple[duckdb.DuckDBPyConnection, bool]:
    """:func:`_open`, and whether it waited for another process. Once it has waited, an error other than the lock
    (the other process was creating the file or closing it, its log not yet folded in) is tried again within
    ``wait_s`` too: several commands starting on a new store at once all store their results. ``deadline``: when
    the wait ends (``time.monotonic()``; default ``wait_s`` from now)."""
    deadline = time.monotonic() + wait_s if deadline is None else deadline
    pause, longest = _LOCK_PAUSE_S
    noted = waited = False
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only), waited
        except duckdb.Error as exc:
            busy = _is_lock(exc)
            if not busy and not (waited and time.monotonic() + pause <= deadline):
                raise _open_error(path, exc) from None
            if time.monotonic() + pause > deadline:
                raise StoreBusyError(
                    f"{clip(path)}: still in use by {_holder(exc)} after waiting {wait_s:g} s "
                    "(only one fab2token command can use a store at a time)"
                ) from None
            if busy and not noted:
                _note(f"note: {clip(path)} is in use by {_holder(exc)}; waiting up to {wait_s:g} s for it")
                noted = True
            waited = True
            time.sleep(pause)
            pause = min(2 * pause, longest)


def _check_length(con: duckdb.DuckDBPyConnection, path: Path, tables: set[str]) -> None:
    """Refuse a file that ends before a block its tables use (a truncated copy, a download cut short).

    Only without a write-ahead log beside it: replaying one (after a crash) may place blocks not yet written.
    Block counts alone do not tell: DuckDB cuts free blocks off the end of the file but still counts them.
    """
    if path.with_name(path.name + ".wal").exists():
        return
    block_size = int(con.execute("PRAGMA database_size").fetchone()[2])
    last = -1
    for table in sorted(tables):
        row = con.execute(
            "SELECT max(block_id) FROM pragma_storage_info(?) WHERE persistent AND block_id >= 0", [table]
        ).fetchone()
        if row and row[0] is not None:
            last = max(last, int(row[0]))
    expected = _DUCKDB_HEADER_BYTES + block_size * (last + 1)
    size = path.stat().st_size
    if size < expected:
        raise _foreign(path, f"truncated: the file has {size:,} bytes, its tables use {expected:,}")


def _check_ours(con: duckdb.DuckDBPyConnection, path: Path) -> bool:
    """True if the file holds a fab2token store, False if it is an empty database; raise if it is another's."""
    try:
        tables = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
            ).fetchall()
        }
        if not tables:
            return False
        _check_length(con, path, tables)
        if "runs" not in tables:
            names = ", ".join(sorted(tables)[:_MAX_NAMES_SHOWN])
            raise _foreign(path, f"a DuckDB database without a runs table (it has {clip(names)})")
        cols = [
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' "
                "AND table_name = 'runs' ORDER BY ordinal_position"
            ).fetchall()
        ]
    except duckdb.Error as exc:
        raise _foreign(path, _reason(exc)) from None
    if cols != _RUNS_COLUMNS:
        raise _foreign(path, f"its runs table has the columns {clip(', '.join(cols))}, not fab2token's")
    return True


def _connect(db: str | Path, read_only: bool = False, wait_s: float | None = None) -> duckdb.DuckDBPyConnection:
    """Open the store (creating its tables if new), waiting at most ``wait_s`` (default :data:`LOCK_WAIT_S`)."""
    path = Path(db)
    wait_s = LOCK_WAIT_S if wait_s is None else wait_s
    if read_only and not path.exists():
        raise StoreError(f"{clip(path)}: no results store here (run `fab2token run SCENARIO --db {clip(path)}` first)")
    deadline = time.monotonic() + wait_s
    while True:  # once, unless another process was just writing the file (then it is looked at again)
        con, waited = _open_waited(path, read_only, wait_s, deadline)
        try:
            if not _check_ours(con, path) and not read_only:
                con.execute(_SCHEMA)
            return con
        except StoreError:
            con.close()
            if waited and time.monotonic() + _LOCK_PAUSE_S[0] < deadline:
                time.sleep(_LOCK_PAUSE_S[0])
                continue
            raise
        except BaseException as exc:
            con.close()
            if isinstance(exc, duckdb.Error):
                raise _open_error(path, exc) from None
            raise


@contextlib.contextmanager
def _reading(db: str | Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection whose query errors (a damaged file) become :class:`StoreError`."""
    path = Path(db)
    con = _connect(path, read_only=True)
    try:
        yield con
    except duckdb.Error as exc:
        raise _foreign(path, _reason(exc)) from None
    finally:
        con.close()


def check_store(db: str | Path) -> Path:
    """Refuse, before a run is simulated, a store that could not take it.

    A folder, a missing folder, an unwritable folder, or a file that is not a fab2token store raise
    :class:`StoreError`; nothing is created or changed. A store locked by another process passes (storing waits).
    """
    from fab2token.errors import OutputError
    from fab2token.io.outputs import check_output

    path = Path(db)
    if path.is_dir():
        raise StoreError(f"{clip(path)}: is a folder, not a results store file (give --db FOLDER/NAME.duckdb)")
    if not path.exists():
        try:
            check_output(path, "--db")
        except OutputError as exc:
            raise StoreError(str(exc)) from None
        return path
    try:
        con = _open(path, read_only=True, wait_s=0.0)
    except StoreBusyError:
        return path
    try:
        _check_ours(con, path)
    finally:
        con.close()
    return path


def _transaction(con: duckdb.DuckDBPyConnection, path: Path, what: str, statements: Any) -> None:
    """Run ``statements(con)`` in one transaction and close; any failure rolls back and names the real error.

    A failed write (a full disk) may already have ended DuckDB's transaction, so a failing ROLLBACK ("no
    transaction is active") is not allowed to hide the error that caused it.
    """
    try:
        con.execute("BEGIN TRANSACTION")
        statements(con)
        con.execute("COMMIT")
    except BaseException as exc:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        with contextlib.suppress(duckdb.Error):
            con.close()
        if isinstance(exc, duckdb.Error) and "Could not read" in str(exc):  # a damaged file, not a failed write
            raise _foreign(path, _reason(exc)) from exc
        if isinstance(exc, duckdb.Error):
            raise StoreError(f"{clip(path)}: cannot {what} ({_reason(exc)}); the store is unchanged") from exc
        raise
    try:
        con.close()
    except duckdb.Error as exc:
        raise StoreError(f"{clip(path)}: {what}: done, but closing the store failed ({_reason(exc)})") from exc


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the store holds table ``name`` (a kind's tables are created with its first record)."""
    sql = "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name = ?"
    return bool(con.execute(sql, [name]).fetchone()[0])


def one_by_prefix(db: str | Path, rows: list[tuple[Any, ...]], ident: str, kind: str, listing: str) -> tuple:
    """The one row whose id (first column) is ``ident`` or, failing that, starts with it; a clear error for none
    (naming the command that lists them, ``listing``) or for an ambiguous prefix."""
    from fab2token.errors import shown

    rows = [r for r in rows if r[0] == ident] or rows
    if not rows:
        raise StoreError(f"{clip(db)}: no {kind} with id {shown(ident)} (see `fab2token {listing} --db {clip(db)}`)")
    if len(rows) > 1:
        raise StoreError(
            f"{clip(db)}: {kind} id prefix {shown(ident)} is ambiguous: {', '.join(r[0] for r in rows[:10])}"
        )
    return rows[0]


def insert_frames(con: duckdb.DuckDBPyConnection, frames: list[tuple[str, Any]]) -> None:
    """Append each (table, DataFrame) pair's rows to its table (empty frames skipped), inside the caller's
    transaction."""
    for table, df in frames:
        if len(df):
            con.register("_frame", df)
            con.execute(f"INSERT INTO {table} SELECT * FROM _frame")
            con.unregister("_frame")
