"""The scenario: pydantic models of the input file, its cross-checks and the time axis (validate once, here)."""

from __future__ import annotations

from fab2token.scenario.models import (
    Economics,
    Scenario,
    Site,
    Supply,
    load_scenario,
    month_label,
    month_number,
    parse_scenario,
)

__all__ = [
    "Economics",
    "Scenario",
    "Site",
    "Supply",
    "load_scenario",
    "month_label",
    "month_number",
    "parse_scenario",
]
