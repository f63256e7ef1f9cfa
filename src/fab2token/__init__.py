"""fab2token: plan and simulate AI compute infrastructure from wafer to token.

The names below are imported on first use (PEP 562), so ``import fab2token`` — and every command line call that
needs none of them — does not pay for numpy, xarray, pandas and pint before it starts.
"""

from __future__ import annotations

import importlib
from typing import Any

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

_WHERE = {
    "RunResult": "fab2token.api",
    "run_file": "fab2token.api",
    "Summary": "fab2token.engine.simulate",
    "simulate": "fab2token.engine.simulate",
    "summarise": "fab2token.engine.simulate",
    "CatalogError": "fab2token.errors",
    "Fab2TokenError": "fab2token.errors",
    "ModelError": "fab2token.errors",
    "ScenarioError": "fab2token.errors",
    "Scenario": "fab2token.scenario",
    "load_scenario": "fab2token.scenario",
    "parse_scenario": "fab2token.scenario",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'fab2token' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
