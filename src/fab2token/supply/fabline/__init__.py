"""The factory floor: a discrete-event wafer-fab line simulator for SMT2020-style models (``fab2token fabline``)."""

from __future__ import annotations

from pathlib import Path

from fab2token.supply.fabline.engine import DISPATCH_RULES, FablineResult, check_run_options, simulate_fab
from fab2token.supply.fabline.loader import FabFormatError, FabModel, load_fab
from fab2token.supply.fabline.ownformat import load_fab_yaml

__all__ = [
    "DISPATCH_RULES",
    "FablineResult",
    "check_run_options",
    "FabFormatError",
    "FabModel",
    "load_any",
    "load_fab",
    "load_fab_yaml",
    "simulate_fab",
]


def load_any(path: str | Path) -> FabModel:
    """An SMT2020-style folder, or a fab2token YAML fab file."""
    p = Path(path)
    return load_fab_yaml(p) if p.suffix in (".yaml", ".yml") else load_fab(p)
