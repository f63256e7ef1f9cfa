"""The scenario: pydantic models of the input file (:mod:`.models`, the sites section in :mod:`.site`, field types in
:mod:`.fields`), its cross-checks (:mod:`.checks`, and :mod:`.runcheck` for what the engine needs), reading it
(:mod:`.load`: bounded YAML in :mod:`.yamltext`, the files it names in :mod:`.files`) and the time axis
(:mod:`.timeline`), and uncertain inputs: distributions written in place of a number (:mod:`.distributions`, the
normal quantiles in :mod:`.normal`, rank correlations in :mod:`.copula`, checked against each field in
:mod:`.uncertain`). Input is validated here, once: what ``validate`` accepts, ``run`` runs."""

from __future__ import annotations

from fab2token.scenario.fields import month_label, month_number
from fab2token.scenario.load import load_scenario, parse_scenario
from fab2token.scenario.models import Economics, Scenario, Site, Supply

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
