"""Reading a scenario: YAML text -> validated :class:`~fab2token.scenario.models.Scenario`, every problem listed."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from fab2token.errors import InputIssue, ScenarioError
from fab2token.scenario.checks import expected, loc, semantic_issues
from fab2token.scenario.models import Scenario

__all__ = ["parse_scenario", "load_scenario"]


def parse_scenario(text: str, file: str = "<scenario>") -> Scenario:
    """Validate scenario YAML text.

    Raises
    ------
    ScenarioError
        Listing every problem found, each with file, field path, value and what was expected.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError([InputIssue(file, where, problem, "well-formed YAML")]) from None
    if not isinstance(data, dict):
        raise ScenarioError(
            [InputIssue(file, "", type(data).__name__, "a YAML mapping with horizon, supply, sites and economics")]
        )
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as exc:
        issues = [
            InputIssue(file, loc(e["loc"]), "(missing)" if e["type"] == "missing" else e.get("input"), expected(e))
            for e in exc.errors()
        ]
        raise ScenarioError(issues) from None
    issues = semantic_issues(file, sc)
    if issues:
        raise ScenarioError(issues)
    return sc


def load_scenario(path: str | Path) -> tuple[Scenario, str]:
    """Read and validate a scenario file; returns the scenario and its text (kept with stored runs)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(
            [InputIssue(str(p), "", str(p), f"a readable UTF-8 YAML file ({exc.__class__.__name__})")]
        ) from None
    return parse_scenario(text, str(p)), text
