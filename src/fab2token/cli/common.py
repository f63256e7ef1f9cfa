"""Shared pieces of the command line: the app, consoles, option types, error handling and table printing."""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import sys
import tempfile
import traceback
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from typer.exceptions import TyperException

from fab2token import catalog as _catalog
from fab2token.errors import Fab2TokenError, clip

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Plan and simulate AI compute infrastructure from wafer to token."
)
catalog_app = typer.Typer(no_args_is_help=True, help="Print the shipped catalog tables (every row has a source).")
app.add_typer(catalog_app, name="catalog")

# piped output (files, CI logs) gets a wide page rather than rich's 80-column default. Neither console reads
# markup: names, paths and values the user gave are printed as typed ("[bold]H900" stays "[bold]H900"); styles
# come from rich Text objects.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160, markup=False)
err = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)

# a message printed for an error: a screenful of problems (each bounded by fab2token.errors) and the count of the rest
MAX_MESSAGE_CHARS = 20_000
# where the traceback of an unexpected error goes: the temporary folder is writable even when the working folder
# is not (a read-only checkout, a CI workspace) and is not a place the user's own files are listed from
LOG_DIR_ENV = "FAB2TOKEN_LOG_DIR"

F = TypeVar("F", bound=Callable[..., Any])

JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print machine-readable JSON (stable keys: docs/reference/results.md).")
]
DbOpt = Annotated[Path, typer.Option("--db", help="DuckDB results store.")]


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    return v


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(_clean(obj), indent=2) + "\n")


def _error(message: str) -> None:
    err.print(Text.assemble(("error:", "bold red"), " ", clip(message, MAX_MESSAGE_CHARS)))


def _write_log(exc: BaseException) -> Path | None:
    folder = Path(os.environ.get(LOG_DIR_ENV) or tempfile.gettempdir())
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = folder / f"fab2token-error-{stamp}-{os.getpid()}.log"
    try:
        text = "".join(traceback.format_exception(exc))
        path.write_text(f"fab2token {' '.join(sys.argv[1:])[:2000]}\n\n{text}", encoding="utf-8")
    except Exception:  # a full disk or a recursion too deep to format: say so rather than fail again
        return None
    return path


def _internal(exc: BaseException) -> None:
    log = _write_log(exc)
    first = clip(str(exc).strip().splitlines()[0], 200) if str(exc).strip() else ""
    where = f"the traceback is in {log}" if log else "the traceback could not be written to a log file"
    err.print(
        Text.assemble(
            ("internal error:", "bold red"),
            f" {type(exc).__name__}{': ' + first if first else ''} (a bug in fab2token; {where}, please report it)",
        )
    )


def _os_error(exc: OSError) -> str:
    what = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is not None:
        return f"{clip(exc.filename)}: {what}"
    return f"operating system error: {what}"


def handles_errors(fn: F) -> F:
    """The one error path of every command.

    fab2token's own errors (bad input, an unusable store or output) and operating-system errors on a path the user
    named (a full disk, no permission) print ``error: ...`` on stderr and exit with status 2. Anything else is a
    bug: one line naming the exception and a log file holding its traceback, exit status 1.
    """

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, TyperException):  # typer's own exits and usage errors
            raise
        except Fab2TokenError as exc:
            _error(str(exc))
            raise typer.Exit(2) from None
        except BrokenPipeError:  # `fab2token runs | head`: the reader left; nothing more to say
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            except (OSError, ValueError, AttributeError):  # stdout without a file descriptor (a test runner)
                pass
            raise typer.Exit(1) from None
        except OSError as exc:
            _error(_os_error(exc))
            raise typer.Exit(2) from None
        except Exception as exc:
            _internal(exc)
            raise typer.Exit(1) from None

    wrapper.handles_errors = True  # type: ignore[attr-defined]  # tests check every command has it
    return wrapper  # type: ignore[return-value]


def _fmt_float(v: float) -> str:
    if not math.isfinite(v):
        return "n/a"
    if abs(v) >= 1e9:
        return f"{v:.4g}"
    if abs(v) >= 100 or v == int(v):
        return f"{v:,.1f}"
    return f"{v:.4g}"


def _summary_table(summary: dict[str, Any], title: str) -> Table:
    t = Table(title=title, show_header=False)
    for k, v in summary.items():
        if k == "binding_constraint_by_month":
            runs: list[str] = []
            labels = summary.get("month_labels", [])
            for i, b in enumerate(v):
                if i == 0 or v[i - 1] != b:
                    runs.append(f"{labels[i] if i < len(labels) else i}: {b}")
            t.add_row(k, ", ".join(runs))
        elif k == "month_labels":
            t.add_row("period", f"{v[0]} .. {v[-1]}" if v else "")
        elif isinstance(v, float):
            t.add_row(k, _fmt_float(v))
        else:
            t.add_row(k, str(v))
    return t


def _num(v: float) -> str:
    if not math.isfinite(v):
        return "unlimited" if v == math.inf else "n/a"
    return f"{v:,.0f}"


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.4g}"
    return str(v)


def _print_table(table: str, as_json: bool) -> None:
    rows = _catalog.table_rows(table)
    if as_json:
        _print_json(rows)
        return
    key = _catalog.TABLES[table]
    cols = [c for c in rows[0] if c not in ("source", "notes", "aliases", key)]
    t = Table(title=f"catalog: {table} (sources and notes: --json)")
    t.add_column("field", no_wrap=True)
    for r in rows:
        t.add_column(str(r[key]), justify="right")
    for c in cols:
        t.add_row(c, *(_cell(r[c]) for r in rows))
    out.print(t)
