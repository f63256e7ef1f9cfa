"""Generates docs/reference/validation.md when the site is built: every reference test (`tests/reference/`), read
from the tests themselves (their module docstrings name the published figures and sources, each test's docstring
its case and tolerance, an expected failure's reason the measured gap), so the page cannot drift from what is tested.
"""

from __future__ import annotations

import ast
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
        "measured gap). Tests marked slow run with `pytest -m slow`, the others in `make test` and CI.\n",
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
    return "\n".join(out)


with mkdocs_gen_files.open("reference/validation.md", "w") as fh:
    fh.write(validation_page())
