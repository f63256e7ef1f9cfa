"""fab2token: plan and simulate AI compute infrastructure from wafer to token."""

from __future__ import annotations

from .api import RunResult, run_file
from .errors import CatalogError, Fab2TokenError, ModelError, ScenarioError
from .scenario import Scenario, load_scenario, parse_scenario
from .simulate import Summary, simulate, summarise

__all__ = [
    "CatalogError",
    "Fab2TokenError",
    "ModelError",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "Summary",
    "load_scenario",
    "parse_scenario",
    "run_file",
    "simulate",
    "summarise",
]

__version__ = "0.1.0"
