"""Property-based hostile input: mutate the bundled examples and every option of the lookup commands, and check that
fab2token never crashes, hangs or corrupts its store.

Every case asserts: exit status 0 or 2 (2 with an ``error:`` line), no traceback, done within a bounded time, and
the store unchanged when the command refused. A scenario that ``validate`` accepts must not be refused by ``run``
(whatever ``run`` rejects, ``validate`` reports). The hand-written tests by defect class sit beside this module.
"""

from __future__ import annotations

import math
import signal
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from fab2token.cli.main import app
from tests.conftest import EXAMPLES

# the slowest good case (a 48-month mixed fleet, or a plan) takes about a second here: anything past this has hung
BOUND_S = 30

runner = CliRunner()

HOSTILE_VALUES: list[Any] = [
    0,
    -1,
    -1e9,
    1e308,
    math.nan,
    math.inf,
    -math.inf,
    0.5,
    2,
    3,
    9,
    25,
    "",
    "[bold]x[/]",
    "[/]",
    "2026-13",
    "0000-01",
    "x" * 5000,
    "1e3 MW",
    [],
    {},
    None,
    True,
    [1, 2, 3],
    {"a": 1},
]
HOSTILE_OPTION_TEXT = ["0", "-1", "-0", "nan", "inf", "-inf", "1e308", "0.5", "2", "3", "9", "", "[bold]x", "abc"]


@contextmanager
def bounded(seconds: int = BOUND_S):
    """Fail instead of hanging: SIGALRM after ``seconds``."""

    def _alarm(signum: int, frame: Any) -> None:
        raise TimeoutError(f"did not finish within {seconds} s")

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def invoke(args: list[str]) -> Any:
    with bounded():
        result = runner.invoke(app, args)
    text = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{args}: {type(result.exception).__name__}: {result.exception}"
    )
    assert "Traceback" not in text, f"{args}: {text[-2000:]}"
    assert result.exit_code in (0, 2), f"{args}: exit {result.exit_code}: {text[-2000:]}"
    if result.exit_code == 2:
        assert "error" in text.lower() or "usage" in text.lower(), f"{args}: exit 2 without a message: {text[-500:]}"
    assert len(text) < 200_000, f"{args}: {len(text)} characters of output"
    return result


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path of a parsed YAML document (mapping keys and list indices)."""
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _mutate(doc: Any, path: tuple, op: str, value: Any) -> Any:
    parent = doc
    for k in path[:-1]:
        parent = parent[k]
    key = path[-1]
    if op == "delete":
        del parent[key]
    elif op == "duplicate" and isinstance(parent, list):
        parent.append(parent[key])
    else:
        parent[key] = value
    return doc


def _run_count(db: Path) -> int:
    if not db.exists():
        return 0
    con = duckdb.connect(str(db), read_only=True)
    try:
        return int(con.execute("select count(*) from runs").fetchone()[0])
    finally:
        con.close()


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("hostile")
    invoke(["run", str(EXAMPLES / "small.yaml"), "--db", str(d / "store.duckdb"), "--no-report"])
    return d


EXAMPLE_NAMES = ["small.yaml", "mixed-fleet.yaml", "plan-two-sites.yaml", "operations.yaml"]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(EXAMPLE_NAMES),
    choice=st.integers(min_value=0),
    op=st.sampled_from(["replace", "replace", "delete", "duplicate"]),
    value=st.sampled_from(HOSTILE_VALUES),
)
def test_a_mutated_example_is_refused_or_runs_and_never_corrupts_the_store(
    work: Path, name: str, choice: int, op: str, value: Any
) -> None:
    doc = yaml.safe_load((EXAMPLES / name).read_text())
    paths = _paths(doc)
    path = paths[choice % len(paths)]
    _mutate(doc, path, op, value)
    scenario = work / "mutated.yaml"
    scenario.write_text(yaml.safe_dump(doc, sort_keys=False))
    checked = invoke(["validate", str(scenario)])
    db = work / "store.duckdb"
    before = _run_count(db)
    ran = invoke(["run", str(scenario), "--db", str(db), "--no-report"])
    after = _run_count(db)
    if ran.exit_code == 2:
        assert after == before, f"{path} {op} {value!r}: refused, yet the store changed"
    else:
        assert after == before + 1
    if checked.exit_code == 0:  # what validate accepts, run does not refuse
        assert ran.exit_code == 0, f"{path} {op} {value!r}: validate passed, run said: {ran.output[-800:]}"


BASE_OPTIONS = {
    "train": ["train", "-m", "llama-3-8b", "--tokens", "1e11", "-a", "H100", "-n", "64"],
    "infer": ["infer", "-m", "llama-3-8b", "-a", "H100"],
    "supply": ["supply", "-a", "H100", "--wafers-per-month", "100", "--months", "6"],
}
NUMERIC_OPTIONS = {
    "train": [
        "--tokens",
        "-n",
        "--mfu",
        "--seq-len",
        "--tp",
        "--pp",
        "--zero-stage",
        "--virtual-stages",
        "--failure-rate",
        "--checkpoint-write-s",
        "--restart-s",
        "--pue",
        "--usd-per-accelerator-hour",
        "--recompute",
        "--precision",
        "-m",
        "-a",
    ],
    "infer": [
        "-n",
        "--tp",
        "--precision",
        "--kv-precision",
        "--tpot-ms",
        "--ttft-ms",
        "--input-tokens",
        "--output-tokens",
        "--usd-per-accelerator-hour",
        "--engine-efficiency",
        "-m",
        "-a",
    ],
    "supply": [
        "--wafers-per-month",
        "--months",
        "--start",
        "--d0",
        "--d0-launch",
        "--d0-ramp-months",
        "--yield-model",
        "--cycle-time-months",
        "--die-area-mm2",
        "--wafer-price-usd",
        "--packaging-wafers-per-month",
        "--interposer-area-mm2",
        "--packaging-yield",
        "--packaging-cost-usd-per-wafer",
        "--hbm-stacks-per-month",
        "--hbm-price-usd-per-stack",
        "-a",
    ],
}


@settings(max_examples=150, deadline=None)
@given(
    command=st.sampled_from(sorted(NUMERIC_OPTIONS)),
    pick=st.integers(min_value=0),
    text=st.sampled_from(HOSTILE_OPTION_TEXT),
)
def test_a_hostile_option_value_is_refused_or_answered(command: str, pick: int, text: str) -> None:
    options = NUMERIC_OPTIONS[command]
    option = options[pick % len(options)]
    args = list(BASE_OPTIONS[command])
    if option in args:
        args[args.index(option) + 1] = text
    else:
        args += [option, text]
    invoke([*args, "--json"])


@settings(max_examples=25, deadline=None)
@given(
    option=st.sampled_from(["--days", "--warmup-days", "--seed", "--dispatch"]),
    text=st.sampled_from(HOSTILE_OPTION_TEXT),
)
def test_a_hostile_fabline_option_is_refused_or_answered(option: str, text: str) -> None:
    args = ["fabline", str(EXAMPLES / "mini-fab.yaml"), "--days", "3", "--json"]
    if option in args:
        args[args.index(option) + 1] = text
    else:
        args += [option, text]
    invoke(args)
