"""Generates docs/reference/validation.md when the site is built: every reference test (`tests/reference/`), read
from the tests themselves (their module docstrings name the published figures and sources, each test's docstring
its case and tolerance, an expected failure's reason the measured gap), and each module's ``validation_rows()``
evaluated at build time (today's errors), so the page cannot drift from what is tested.
"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import mkdocs_gen_files

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "reference"


def _marks(fn: ast.FunctionDef) -> tuple[list[str], str]:
    """The test's marks (slow, xfail, parametrized) and an expected failure's reason."""
    marks, reason = [], ""
    for dec in fn.decorator_list:
        call = dec if isinstance(dec, ast.Call) else None
        target = call.func if call else dec
        name = ast.unparse(target).removeprefix("pytest.mark.")
        if name in ("slow", "xfail", "parametrize", "skipif"):
            marks.append("expected failure" if name == "xfail" else name)
        if name == "xfail" and call:
            for kw in call.keywords:
                if kw.arg == "reason":
                    try:
                        reason = str(ast.literal_eval(kw.value))
                    except ValueError:
                        reason = ast.unparse(kw.value)
    return marks, reason


def _one_line(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def validation_page() -> str:
    out = [
        "# Validation\n",
        "Generated from `tests/reference/`: every model that predicts a real-world number is compared there with a "
        "published figure. Each section is one test module: its text (the figures, their sources and which are "
        "in-sample) and its tests (the case and tolerance, from each test's docstring; an expected failure says the "
        "measured gap). Where a module has its rows as data (``validation_rows()``), they are evaluated while the "
        "page is built: the published figure, the model's, the error and the tolerance as of this build. Tests marked "
        "slow run with `pytest -m slow`, the others in `make test` and CI.\n",
    ]
    for path in sorted(REFERENCE.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        out.append(f"## `{path.name}`\n")
        doc = ast.get_docstring(tree) or ""
        out.append(doc.strip() + "\n")
        rows = []
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                marks, reason = _marks(node)
                text = reason or (ast.get_docstring(node) or "").split("\n\n")[0]
                rows.append(f"| `{node.name}` | {', '.join(marks)} | {_one_line(text)} |")
        if rows:
            out.append("| test | marks | case, tolerance or measured gap |\n|---|---|---|\n" + "\n".join(rows) + "\n")
        out.append(_current(path))
    return "\n".join(out)


def _current(path: Path) -> str:
    """The module's rows evaluated now (its ``validation_rows()``, where it has one): case, published, ours, error
    and tolerance, so the page shows today's errors, not the ones written when the test was."""
    if "def validation_rows" not in path.read_text(encoding="utf-8"):
        return ""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    rows = importlib.import_module(f"tests.reference.{path.stem}").validation_rows()
    lines = [
        f"| {_one_line(r['case'])} | {r['published']:,.4g} | {r['ours']:,.4g} | {r['unit']} | "
        f"{r['ours'] / r['published'] - 1.0:+.1%} | ±{r['tolerance']:.0%} |"
        for r in rows
    ]
    head = "| case | published | ours | unit | error | tolerance |\n|---|---|---|---|---|---|\n"
    return "Evaluated when this page was built:\n\n" + head + "\n".join(lines) + "\n"


with mkdocs_gen_files.open("reference/validation.md", "w") as fh:
    fh.write(validation_page())
