"""Helpers shared by the hand-written hostile scenario tests: invoke the CLI in-process within a time bound, and check
that a refused ``run`` stores nothing."""

from __future__ import annotations

import copy
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from fab2token.cli.main import app
from tests.conftest import EXAMPLES

# the slowest refused case here (a scenario near the YAML node bound) takes ~4 s: anything past this has hung
BOUND_S = 30

runner = CliRunner()


@contextmanager
def bounded(seconds: int = BOUND_S) -> Iterator[None]:
    """Fail instead of hanging: SIGALRM after ``seconds`` (it also interrupts a blocked ``open`` of a pipe)."""

    def _alarm(signum: int, frame: Any) -> None:
        raise TimeoutError(f"did not finish within {seconds} s")

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def small() -> dict[str, Any]:
    """A fresh copy of examples/small.yaml as data."""
    return copy.deepcopy(yaml.safe_load((EXAMPLES / "small.yaml").read_text()))


def write(tmp: Path, data: dict[str, Any] | str, name: str = "scenario.yaml") -> Path:
    p = tmp / name
    p.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return p


def cli(*args: str) -> tuple[int, str]:
    """Exit status and output (stdout and stderr) of one in-process command, which must not raise."""
    with bounded():
        result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def refused(path: Path | str, tmp: Path) -> str:
    """``validate`` and ``run`` both exit 2 on ``path``, and the refused run leaves no store behind; returns the
    ``validate`` message (whitespace collapsed: the printer wraps long lines)."""
    code, text = cli("validate", str(path))
    assert code == 2, text
    assert text.startswith("error:"), text
    db = tmp / "store.duckdb"
    code_run, text_run = cli("run", str(path), "--db", str(db), "--no-report")
    assert code_run == 2, text_run
    assert not db.exists()
    return " ".join(text.split())
