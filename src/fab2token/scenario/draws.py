"""Draws of a scenario's uncertain inputs, and the validated scenario of each draw: what a sweep runs through the
engine (:mod:`fab2token.sweep`) and a plan under uncertainty solves over (:mod:`fab2token.plan.stochastic`).

A sweep reads the scenario's text once (:class:`SweepScenario`): its raw data, with every distribution where it was
written, and its :class:`~fab2token.scenario.uncertain.UncertainInputs`. The draws of every input come from
:meth:`~fab2token.scenario.uncertain.UncertainInputs.sample` (by seed, the input's path and the draw's index only,
so the first draws do not depend on how many are asked for, and a chunk of draws is the same wherever it runs).
:func:`draw_scenario` writes one draw's values where the distributions stood and validates the result with every
check ``validate`` makes; a draw that fails a cross-check (a drawn month before another field's month) is an input
error naming the draw, the drawn values and the problem.

:func:`sobol_design` draws instead the design of Saltelli's scheme (independent inputs, SALib), for Sobol indices.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import ValidationError

from fab2token.errors import InputIssue, ScenarioError, clip
from fab2token.scenario.checks import expected, loc, semantic_issues
from fab2token.scenario.distributions import Dist, iter_specs, replace_distributions
from fab2token.scenario.models import Scenario
from fab2token.scenario.uncertain import PLACEHOLDER, UncertainInputs, uncertain_inputs
from fab2token.scenario.yamltext import load_yaml

__all__ = ["SweepScenario", "read_sweep_scenario", "draw_scenario", "draw_values", "sobol_design", "sobol_draws"]


@dataclass(frozen=True)
class SweepScenario:
    """A scenario as a sweep needs it: its raw data (distributions in place), where it was read, its uncertain
    inputs and its text (stored with the sweep, so that ``--resume`` rebuilds the same draws)."""

    data: dict[str, Any]
    file: str
    inputs: UncertainInputs
    text: str
    specs: tuple[tuple[str, tuple[object, ...]], ...] = ()  # where each distribution stands (read once)

    @property
    def paths(self) -> list[str]:
        return list(self.inputs.dists)

    @property
    def name(self) -> str:
        return str(self.data.get("name", ""))


def read_sweep_scenario(text: str, file: str, sc: Scenario | None = None) -> SweepScenario:
    """Scenario text -> :class:`SweepScenario`, refused as ``validate`` refuses it (its median scenario is validated
    with every check; ``sc``: the scenario already validated from this text, not validated again).

    Raises
    ------
    ScenarioError
        Whatever ``validate`` reports, or a scenario with no uncertain input (nothing to sweep).
    """
    from fab2token.scenario.load import parse_scenario

    sc = parse_scenario(text, file) if sc is None else sc  # every problem of the file, as validate lists them
    data = load_yaml(text, file)
    inputs = uncertain_inputs(sc)
    if not len(inputs):
        raise ScenarioError(
            [
                InputIssue(
                    file,
                    "",
                    "no distribution",
                    "at least one uncertain input to sweep, e.g. d0_per_cm2: {dist: lognormal, median: 0.1, p90: 0.16} "
                    "(docs/how-to: a sweep); `fab2token run` runs a scenario without ranges",
                )
            ]
        )
    specs = tuple((path, parts) for path, parts, _ in iter_specs(data))
    return SweepScenario(data, file, inputs, text, specs)


def draw_values(values: Mapping[str, np.ndarray], k: int) -> dict[str, float]:
    """The ``k``-th draw of every input as plain numbers (month numbers for months)."""
    return {path: float(v[k]) for path, v in values.items()}


def draw_scenario(ss: SweepScenario, values: Mapping[str, float], draw: int) -> Scenario:
    """The validated scenario of one draw: ``values`` (by input path) written where the distributions stood.

    Raises
    ------
    ScenarioError
        The draw's scenario fails a check; each issue names the draw and its drawn values.
    """
    dists: Mapping[str, Dist] = ss.inputs.dists
    data = replace_distributions(
        ss.data, lambda path, _: dists[path].scenario_value(values[path]), ss.specs or None, share=True
    )  # the rest of the tree is the sweep's own (validation only reads it)
    where = f"{ss.file} (draw {draw}: " + ", ".join(f"{p}={dists[p].scenario_value(v)}" for p, v in values.items())
    where = clip(where, 300) + ")"
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(
            [
                InputIssue(where, loc(e["loc"]), e.get("input"), expected(e))
                for e in exc.errors()
                if e.get("input") is not PLACEHOLDER
            ]
        ) from None
    issues = semantic_issues(where, sc)
    if issues:
        raise ScenarioError(issues)
    return sc


def sobol_design(inputs: UncertainInputs, n_base: int, seed: int) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Saltelli's design for first-order and total Sobol indices: ``n_base x (D + 2)`` draws of the ``D`` inputs.

    Returns SALib's problem (kept to analyse the outcomes) and the draws by input path. The inputs must be
    independent (no ``correlations``): Sobol indices assume it.

    Raises
    ------
    ScenarioError
        Correlated inputs, fewer than two inputs, or ``n_base`` not a power of two >= 2 (Sobol sequences need it).
    """
    from SALib.sample import sobol as sobol_sample

    paths = list(inputs.dists)
    if inputs.correlations:
        raise ScenarioError(
            [
                InputIssue(
                    "--sobol",
                    "correlations",
                    len(inputs.correlations),
                    "no correlations: Sobol indices assume independent inputs (sweep without --sobol to keep them)",
                )
            ]
        )
    if len(paths) < 2:
        raise ScenarioError([InputIssue("--sobol", "inputs", len(paths), "at least two uncertain inputs to rank")])
    if n_base < 2 or n_base & (n_base - 1):
        raise ScenarioError(
            [InputIssue("--sobol", "--draws", n_base, "a power of two >= 2 (base draws of the design)")]
        )
    problem = {"num_vars": len(paths), "names": paths, "bounds": [[0.0, 1.0]] * len(paths)}
    u = sobol_sample.sample(problem, n_base, calc_second_order=False, scramble=True, seed=seed)
    u = np.clip(u, 1e-12, 1 - 1e-12)  # the open interval: unbounded inputs stay finite
    return problem, {p: _as_draws(inputs.dists[p], u[:, j]) for j, p in enumerate(paths)}


def sobol_draws(n_base: int, n_inputs: int) -> int:
    """Draws of a Saltelli design (first-order and total indices) of ``n_base`` base draws."""
    return n_base * (n_inputs + 2)


def _as_draws(dist: Dist, u: np.ndarray) -> np.ndarray:
    x = dist.ppf(u)
    return x.astype(np.int64) if dist.month else x
