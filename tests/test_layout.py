"""The folder layout shows the flow: a stage imports only from the stages before it (and the shared catalog,
errors, option checks and units). Checked on the source, so a new import that reaches downstream fails here."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "fab2token"
# the flow: each stage may import the shared modules and the stages with a lower rank; plan and engine are
# siblings (two consumers of the same inputs), io and cli come last
RANK = {
    "scenario": 0,
    "supply": 1,
    "sites": 2,
    "deploy": 3,
    "workloads": 4,
    "economics": 5,
    "engine": 6,
    "plan": 6,
    "operations": 6.25,  # the installed fleet hour by hour, on the engine's results
    "race": 6.5,  # several players on the engine: the world's pools shared, then one engine run per player
    "io": 7,
    "api": 8,  # api.py: the Python API the CLI calls
    "sweep": 8,  # draws of the engine in chunks, their store and statistics (beside the API, on io)
    "web": 9,  # the dashboard: the same API, in a browser
    "cli": 10,
}
SHARED = {"catalog", "errors", "options", "units"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fab2token"):
            parts = node.module.split(".")
            if len(parts) > 1:
                out.add(parts[1])
            else:  # from fab2token import catalog, ...
                out.update(a.name for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[1] for a in node.names if a.name.startswith("fab2token."))
    return out


def test_no_stage_imports_a_later_one():
    wrong = []
    for stage, rank in RANK.items():
        paths = (PACKAGE / stage).rglob("*.py") if (PACKAGE / stage).is_dir() else [PACKAGE / f"{stage}.py"]
        for path in (p for p in paths if p.exists()):
            for target in _imports(path) - SHARED - {stage}:
                if target not in RANK or RANK[target] > rank or (RANK[target] == rank and target != stage):
                    wrong.append(f"{path.relative_to(PACKAGE)} imports fab2token.{target}")
    assert wrong == []


def test_every_module_is_under_500_lines():
    long = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if p.read_text().count("\n") > 500]
    assert long == []


# the fab line's plain Python event loop is one function on purpose: it is the reference kernel.cpp ports statement
# for statement, and splitting it would put a Python call on every event
LONG_FUNCTIONS_ALLOWED = {
    "supply/fabline/kernel.py:run",
}
MAX_FUNCTION_LINES = 80


def _docstring_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    first = node.body[0] if node.body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return first.end_lineno - first.lineno + 1
    return 0


def test_every_function_is_under_80_lines():
    """Code lines: a function's docstring (its numpydoc Parameters / Returns / Raises) does not count."""
    long = []
    for p in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                where = f"{p.relative_to(PACKAGE)}:{node.name}"
                lines = node.end_lineno - node.lineno + 1 - _docstring_lines(node)
                if lines > MAX_FUNCTION_LINES and where not in LONG_FUNCTIONS_ALLOWED:
                    long.append(f"{where} ({lines} lines)")
    assert long == []
