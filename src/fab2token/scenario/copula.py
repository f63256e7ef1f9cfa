"""Rank correlations between uncertain inputs (the scenario's top-level ``correlations``): read, checked and applied
as a Gaussian copula on the inputs' standard normal draws.

A rank (Spearman) correlation rho_s between two inputs is the normal copula's Pearson correlation
2 sin(pi rho_s / 6) (Kruskal 1958); the matrix of all of them must be positive definite, or the correlations
cannot hold together. The discrete and whole-number inputs' rank correlations come out slightly weaker than asked
(ties), the continuous ones' within sampling error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from fab2token.errors import InputIssue, ScenarioError

__all__ = ["CORRELATIONS_KEY", "Correlation", "read_correlations", "correlate"]

CORRELATIONS_KEY = "correlations"  # the scenario's top-level key


@dataclass(frozen=True)
class Correlation:
    """A rank (Spearman) correlation between two uncertain inputs, named by their paths."""

    between: tuple[str, str]
    rank: float

    @property
    def pearson(self) -> float:
        """The normal copula's correlation giving this rank correlation: 2 sin(pi rho_s / 6)."""
        return 2.0 * math.sin(math.pi * self.rank / 6.0)


_CORR_EXPECTED = "a list of {between: [input path, input path], rank: r} with -1 < r < 1"


def read_correlations(
    raw: Any, paths: Mapping[str, object], file: str = "<scenario>"
) -> tuple[tuple[Correlation, ...], list[InputIssue]]:
    """Read the top-level ``correlations`` against the uncertain inputs' ``paths``; check they can hold together."""
    if raw is None:
        return (), []
    if not isinstance(raw, list):
        return (), [InputIssue(file, CORRELATIONS_KEY, raw, _CORR_EXPECTED)]
    out: list[Correlation] = []
    issues: list[InputIssue] = []
    for i, item in enumerate(raw):
        at = f"{CORRELATIONS_KEY}[{i}]"
        if not isinstance(item, dict) or set(item) != {"between", "rank"}:
            issues.append(InputIssue(file, at, item, _CORR_EXPECTED))
            continue
        found = _correlation_issues(file, at, item["between"], item["rank"], paths, out)
        if found:
            issues += found
        else:
            out.append(Correlation((item["between"][0], item["between"][1]), float(item["rank"])))
    if not issues and _copula_factor(out) is None:
        issues.append(_not_positive_definite(file, out))
    return tuple(out), issues


def _correlation_issues(
    file: str, at: str, between: Any, rank: Any, paths: Mapping[str, object], seen: list[Correlation]
) -> list[InputIssue]:
    issues = []
    known = ", ".join(paths) or "none: this scenario has no distributions"
    if not (isinstance(between, list) and len(between) == 2 and all(isinstance(p, str) for p in between)):
        issues.append(InputIssue(file, f"{at}.between", between, "two input paths, e.g. [supply.fab.d0_per_cm2, ...]"))
    elif between[0] == between[1] or any(p not in paths for p in between):
        issues.append(InputIssue(file, f"{at}.between", between, f"two different uncertain inputs; known: {known}"))
    elif any(set(c.between) == set(between) for c in seen):
        issues.append(InputIssue(file, f"{at}.between", between, "each pair of inputs once"))
    if isinstance(rank, bool) or not isinstance(rank, int | float) or not -1 < rank < 1:
        issues.append(InputIssue(file, f"{at}.rank", rank, "a rank correlation strictly between -1 and 1"))
    return issues


def _copula_matrix(correlations: tuple[Correlation, ...] | list[Correlation]) -> tuple[list[str], np.ndarray]:
    names = list(dict.fromkeys(p for c in correlations for p in c.between))
    index = {p: i for i, p in enumerate(names)}
    matrix = np.eye(len(names))
    for c in correlations:
        i, j = index[c.between[0]], index[c.between[1]]
        matrix[i, j] = matrix[j, i] = c.pearson
    return names, matrix


def _copula_factor(correlations: tuple[Correlation, ...] | list[Correlation]) -> np.ndarray | None:
    """The Cholesky factor of the copula's correlation matrix; None when it is not positive definite."""
    _, matrix = _copula_matrix(correlations)
    try:
        return np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        return None


def _not_positive_definite(file: str, correlations: tuple[Correlation, ...] | list[Correlation]) -> InputIssue:
    _, matrix = _copula_matrix(correlations)
    low = float(np.linalg.eigvalsh(matrix)[0]) if len(matrix) else 0.0
    return InputIssue(
        file,
        CORRELATIONS_KEY,
        [c.rank for c in correlations],
        f"rank correlations that can hold together: their copula matrix (2 sin(pi r / 6)) is not positive definite "
        f"(smallest eigenvalue {low:.3g}); weaken the strongest or the contradictory ones",
    )


def correlate(
    z: Mapping[str, np.ndarray], correlations: tuple[Correlation, ...] | list[Correlation], file: str = "sample"
) -> dict[str, np.ndarray]:
    """Independent standard normal draws ``{path: array(n)}`` -> the same draws with the correlated inputs' mixed
    through the copula's Cholesky factor (draw by draw: a draw's mixed values depend on that draw alone).

    Raises
    ------
    ScenarioError
        A correlation naming an input not in ``z``, or correlations that cannot hold together.
    """
    out = dict(z)
    if not correlations:
        return out
    _, issues = read_correlations([{"between": list(c.between), "rank": c.rank} for c in correlations], z, file)
    if issues:
        raise ScenarioError(issues)
    names, _ = _copula_matrix(correlations)
    factor = _copula_factor(correlations)
    assert factor is not None  # read_correlations refused a matrix without one
    mixed = np.stack([z[p] for p in names], axis=1) @ factor.T
    out |= {p: mixed[:, i] for i, p in enumerate(names)}
    return out
