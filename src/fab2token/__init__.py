"""fab2token: plan and simulate AI compute infrastructure from wafer to token."""

from __future__ import annotations

from fab2token.api import RunResult, run_file
from fab2token.engine.simulate import Summary, simulate, summarise
from fab2token.errors import CatalogError, Fab2TokenError, ModelError, ScenarioError
from fab2token.scenario import Scenario, load_scenario, parse_scenario

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
