"""What a sweep's draws say: P10/P50/P90 and mean of every outcome and monthly series, the probability of each
binding constraint by month, and which inputs drive the spread of an outcome.

Quantiles are numpy's default (linear interpolation between order statistics, Hyndman and Fan's type 7). A
training run that does not finish within the horizon has the finish month ``inf``: its quantiles are then ``inf``
("not within the horizon") where more than that share of draws does not finish, and its mean is over the draws that
finish, beside the share that does (``finished_frac``).

Sensitivity: Spearman rank correlations of each input with the outcome over the draws (any draw count; what
moves the outcome monotonically), and, for a sweep drawn with Saltelli's design (``method: sobol``), Sobol first-
order and total indices from SALib (Saltelli et al. 2010), with their 95 % confidence half-widths.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["QUANTILES", "quantile_rows", "series_bands", "binding_probability", "rank_correlations", "sobol_indices"]

QUANTILES = (0.1, 0.5, 0.9)


def _finite_or_none(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def quantile_rows(outcomes: dict[str, np.ndarray], units: dict[str, str]) -> list[dict[str, Any]]:
    """One row per outcome: name, unit, draws, mean, p10, p50, p90 (``None`` for not finite: a run that does not
    finish), and for training runs' finish months ``finished_frac``."""
    rows = []
    for name, v in outcomes.items():
        v = v[~np.isnan(v)]
        row: dict[str, Any] = {"outcome": name, "unit": units.get(name, ""), "draws": int(v.size)}
        if v.size == 0:
            rows.append(row | {"mean": None, "p10": None, "p50": None, "p90": None})
            continue
        finite = np.isfinite(v)
        q = np.quantile(np.where(finite, v, np.inf), QUANTILES, method="inverted_cdf" if not finite.all() else "linear")
        row["mean"] = float(v[finite].mean()) if finite.any() else None
        row |= {f"p{round(p * 100)}": _finite_or_none(x) for p, x in zip(QUANTILES, q, strict=True)}
        if name.endswith(".finish_month"):
            row["finished_frac"] = float(finite.mean())
        rows.append(row)
    return rows


def series_bands(series: dict[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """Every monthly series' mean and P10/P50/P90 by month: ``{variable: {"mean": (month,), "p10": ...}}``."""
    out = {}
    for name, v in series.items():
        q = np.nanquantile(v, QUANTILES, axis=0)
        out[name] = {"mean": np.nanmean(v, axis=0)} | {f"p{round(p * 100)}": q[k] for k, p in enumerate(QUANTILES)}
    return out


def binding_probability(binding: np.ndarray) -> dict[str, np.ndarray]:
    """The share of draws in which each constraint binds, by month: ``{name: (month,)}``, largest first."""
    names, codes = np.unique(binding.astype(str), return_inverse=True)
    codes = codes.reshape(binding.shape)
    shares = {str(n): (codes == k).mean(axis=0) for k, n in enumerate(names) if n}
    return dict(sorted(shares.items(), key=lambda kv: -kv[1].sum()))


def _ranks(v: np.ndarray) -> np.ndarray:
    return pd.Series(v).rank(method="average").to_numpy()


def rank_correlations(inputs: dict[str, np.ndarray], outcome: np.ndarray) -> list[dict[str, Any]]:
    """Spearman's rank correlation of each input with ``outcome`` over the draws, largest magnitude first
    (``None`` where an input or the outcome does not vary). Draws with a NaN outcome are left out; ``inf`` ranks
    last (a run that does not finish is later than any that does)."""
    keep = ~np.isnan(outcome)
    ry = _ranks(outcome[keep])
    rows = []
    for name, x in inputs.items():
        rx = _ranks(x[keep])
        sx, sy = rx.std(), ry.std()
        rho = float(np.mean((rx - rx.mean()) * (ry - ry.mean())) / (sx * sy)) if sx > 0 and sy > 0 else None
        rows.append({"input": name, "rank_correlation": rho})
    return sorted(rows, key=lambda r: -abs(r["rank_correlation"] or 0.0))


def sobol_indices(names: list[str], outcome: np.ndarray, seed: int = 0) -> list[dict[str, Any]]:
    """Sobol first-order (S1) and total (ST) indices of ``outcome`` drawn with :func:`~fab2token.scenario.draws.
    sobol_design` (draws in the design's order), with 95 % confidence half-widths, largest ST first.

    An outcome that is not finite in some draw (a run that does not finish) has no variance to split: every index is
    then ``None``.
    """
    from SALib.analyze import sobol

    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    if not np.all(np.isfinite(outcome)) or np.std(outcome) == 0:
        return [{"input": n, "S1": None, "S1_conf": None, "ST": None, "ST_conf": None} for n in names]
    res = sobol.analyze(problem, np.asarray(outcome, float), calc_second_order=False, seed=seed)
    rows = [
        {
            "input": n,
            "S1": float(res["S1"][j]),
            "S1_conf": float(res["S1_conf"][j]),
            "ST": float(res["ST"][j]),
            "ST_conf": float(res["ST_conf"][j]),
        }
        for j, n in enumerate(names)
    ]
    return sorted(rows, key=lambda r: -r["ST"])
