"""Uncertain inputs: a distribution written in place of a scenario number or month, read, checked and sampled.

A scenario may write any number or month as a mapping with a ``dist`` key::

    d0_per_cm2: {dist: lognormal, median: 0.1, p90: 0.16}
    grid_power:
      - {from: {dist: uniform_month, low: 2027-03, high: 2027-09}, mw: {dist: triangular, low: 200, mode: 300, high: 320}}

and, at the top level, rank correlations between such inputs (a Gaussian copula)::

    correlations:
      - {between: [supply.fab.d0_per_cm2, "sites[0].grid_power[0].mw"], rank: 0.6}

Every distribution is an inverse CDF (:meth:`Dist.ppf`) of a standard normal draw: each input has its own stream
(a :class:`numpy.random.SeedSequence` keyed by a stable hash of its path), so a draw depends only on the seed, the
input's path and the draw's index, never on how many draws are taken or which other inputs exist. Correlated inputs
mix their normals through the Cholesky factor of the copula's correlation matrix before the inverse CDFs.
Everything is vectorised over draws; the only loops are over inputs and over a spec's keys. The normal CDF and
quantile are in :mod:`.normal`, the correlations in :mod:`.copula`.

Which fields may hold a distribution, and what each field allows, is :mod:`.uncertain`'s concern: this module knows
YAML data and distributions only.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fab2token.errors import InputIssue, ScenarioError
from fab2token.options import MAX_COUNT, MAX_MAGNITUDE
from fab2token.scenario.copula import CORRELATIONS_KEY, Correlation, correlate, read_correlations
from fab2token.scenario.fields import _year_month, month_label, month_number
from fab2token.scenario.normal import norm_cdf, norm_ppf

__all__ = [
    "DIST_KINDS",
    "Dist",
    "Correlation",
    "norm_cdf",
    "norm_ppf",
    "iter_specs",
    "parse_spec",
    "distribution_issues",
    "find_distributions",
    "read_correlations",
    "replace_distributions",
    "quantile_data",
    "sample",
]

DIST_KINDS = (
    "normal",
    "lognormal",
    "triangular",
    "uniform",
    "choice",
    "empirical",
    "uniform_month",
    "triangular_month",
)
# the keys each kind takes (lognormal's percentiles pXX are matched by _PERCENTILE)
_KEYS: dict[str, tuple[str, ...]] = {
    "normal": ("mean", "sd"),
    "lognormal": ("median", "mu", "sigma"),
    "triangular": ("low", "mode", "high"),
    "uniform": ("low", "high"),
    "choice": ("values", "weights"),
    "empirical": ("values",),
    "uniform_month": ("low", "high"),
    "triangular_month": ("low", "mode", "high"),
}
_PERCENTILE = re.compile(r"^p(\d+(?:\.\d+)?)$")
# unbounded distributions (normal, lognormal) are checked against their field at these quantiles
TAIL_Q = 1e-3


# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Dist:
    """One uncertain input: its kind and parameters, read and checked.

    ``params``: normal (mean, sd); lognormal (median, sigma); triangular and triangular_month (low, mode, high);
    uniform and uniform_month (low, high). ``values``/``probs``: choice and empirical, sorted by value. Months are
    month numbers (:func:`~fab2token.scenario.fields.month_number`). ``whole``: draws are whole numbers (months
    always; a count field's numbers too): a uniform gives each whole number from low to high the same chance,
    the others round to the nearest.
    """

    kind: str
    params: tuple[float, ...] = ()
    values: tuple[float, ...] = ()
    probs: tuple[float, ...] = ()
    month: bool = False
    whole: bool = False

    @property
    def bounded(self) -> bool:
        return self.kind not in ("normal", "lognormal")

    def ppf(self, u: Any) -> np.ndarray:
        """The inverse CDF at probabilities ``u`` in [0, 1] (month numbers for a month distribution)."""
        u = np.asarray(u, dtype=float)
        if self.kind == "normal":
            return self._whole(self.params[0] + self.params[1] * norm_ppf(u))
        if self.kind == "lognormal":
            return self._whole(self.params[0] * np.exp(self.params[1] * norm_ppf(u)))
        if self.values:
            cum = np.cumsum(self.probs)
            cum[-1] = 1.0
            idx = np.minimum(np.searchsorted(cum, u, side="left"), len(self.values) - 1)
            return self._whole(np.asarray(self.values)[idx])
        if self.kind in ("uniform", "uniform_month"):
            low, high = self.params
            if self.whole or self.month:  # each whole number of [low, high] equally likely
                return np.minimum(np.floor(low + u * (high - low + 1)), high)
            return low + u * (high - low)
        return self._whole(triangular_ppf(u, *self.params))

    def from_normal(self, z: Any) -> np.ndarray:
        """Draws from standard normal draws ``z`` (the copula's variates): ``ppf(Phi(z))``, exact for (log)normals."""
        z = np.asarray(z, dtype=float)
        if self.kind == "normal":
            return self._whole(self.params[0] + self.params[1] * z)
        if self.kind == "lognormal":
            return self._whole(self.params[0] * np.exp(self.params[1] * z))
        return self.ppf(norm_cdf(z))

    def quantile(self, q: float) -> float | int | str:
        """The ``q``-quantile as a scenario value: a number, a whole number, or a ``YYYY-MM`` month."""
        return self.scenario_value(float(self.ppf(q)))

    def extremes(self, tail: float = TAIL_Q) -> tuple[float | int | str, float | int | str]:
        """The lowest and highest values drawn (the ``tail`` and ``1 - tail`` quantiles when unbounded)."""
        lo, hi = (0.0, 1.0) if self.bounded else (tail, 1.0 - tail)
        return self.quantile(lo), self.quantile(hi)

    def scenario_value(self, x: float) -> float | int | str:
        if self.month:
            return month_label(int(x))
        return int(x) if self.whole else float(x)

    def _whole(self, x: np.ndarray) -> np.ndarray:
        return np.floor(x + 0.5) if self.whole or self.month else x


def triangular_ppf(u: np.ndarray, low: float, mode: float, high: float) -> np.ndarray:
    width = high - low
    if width == 0:
        return np.full_like(u, low)
    c = (mode - low) / width
    left = low + np.sqrt(u * width * (mode - low))
    right = high - np.sqrt((1 - u) * width * (high - mode))
    return np.where(u < c, left, right)


# ---------------------------------------------------------------------------------------------------------------
# Reading specs
def _join(path: str, key: object) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def iter_specs(data: Any) -> Iterator[tuple[str, tuple[object, ...], Mapping[str, Any]]]:
    """Every mapping with a ``dist`` key in scenario data: ``(path, path parts, spec)``; the top-level
    ``correlations`` is not walked. Paths are written as the scenario is: ``sites[0].grid_power[0].mw``."""
    stack: list[tuple[str, tuple[object, ...], Any]] = [("", (), data)]
    while stack:
        path, parts, node = stack.pop()
        if isinstance(node, dict):
            if "dist" in node and parts:
                yield path, parts, node
                continue
            items = [(k, v) for k, v in node.items() if parts or k != CORRELATIONS_KEY]
        elif isinstance(node, list):
            items = list(enumerate(node))
        else:
            continue
        stack.extend((_join(path, k), (*parts, k), v) for k, v in reversed(items))


class _Reader:
    """Reads one spec's keys, collecting each problem as an :class:`InputIssue` at ``path.key``."""

    def __init__(self, file: str, path: str, spec: Mapping[Any, Any]):
        self.file, self.path, self.spec = file, path, spec
        self.issues: list[InputIssue] = []

    def bad(self, key: str | int | None, value: object, expected: str) -> None:
        self.issues.append(InputIssue(self.file, self.path if key is None else _join(self.path, key), value, expected))

    def number(self, key: str | int, low: float | None = None, strict: bool = False) -> float | None:
        value = self.spec.get(key, "(missing)")
        bound = "" if low is None else f" {'>' if strict else '>='} {low:g}"
        expected = f"a plain number{bound} (in the field's unit)"
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.bad(key, value, expected)
            return None
        x = float(value)
        if not math.isfinite(x) or abs(x) > MAX_MAGNITUDE or (isinstance(value, int) and abs(value) > MAX_COUNT):
            self.bad(key, value, f"a finite number of magnitude at most {MAX_MAGNITUDE:g}")
            return None
        if low is not None and (x < low or (strict and x == low)):
            self.bad(key, value, expected)
            return None
        return x

    def month(self, key: str | int, value: object = None) -> int | None:
        value = self.spec.get(key, "(missing)") if value is None else value
        try:
            return month_number(_year_month(value))
        except ValueError as exc:
            self.bad(key, value, str(exc).removeprefix("expected "))
            return None


def parse_spec(spec: Mapping[str, Any], path: str, file: str = "<scenario>") -> tuple[Dist | None, list[InputIssue]]:
    """Read one distribution spec: the :class:`Dist`, or None and every problem found (file, path, value, expected)."""
    r = _Reader(file, path, spec)
    kind = spec.get("dist")
    if not isinstance(kind, str) or kind not in DIST_KINDS:
        r.bad("dist", kind, f"a distribution: one of {', '.join(DIST_KINDS)}")
        return None, r.issues
    unknown = [str(k) for k in spec if k != "dist" and k not in _KEYS[kind] and not _is_percentile_key(kind, k)]
    if unknown:
        keys = ", ".join(_KEYS[kind]) + (", pXX (a percentile, e.g. p90)" if kind == "lognormal" else "")
        r.bad(None, spec, f"unknown key(s) {', '.join(unknown)} for a {kind} distribution; it takes: {keys}")
        return None, r.issues
    dist = _READERS[kind](r)
    return (dist if not r.issues else None), r.issues


def _is_percentile_key(kind: str, key: object) -> bool:
    return kind == "lognormal" and isinstance(key, str) and _PERCENTILE.match(key) is not None


def _read_normal(r: _Reader) -> Dist | None:
    mean, sd = r.number("mean"), r.number("sd", low=0)
    return None if mean is None or sd is None else Dist("normal", (mean, sd))


def _read_lognormal(r: _Reader) -> Dist | None:
    if "mu" in r.spec or "sigma" in r.spec:
        others = [str(k) for k in r.spec if k not in ("dist", "mu", "sigma")]
        if others:
            r.bad(
                None, r.spec, f"give mu and sigma, or the median and a percentile, not both (drop {', '.join(others)})"
            )
            return None
        mu, sigma = r.number("mu"), r.number("sigma", low=0)
        if mu is not None and mu > math.log(MAX_MAGNITUDE):
            r.bad("mu", mu, f"a log-median of at most ln({MAX_MAGNITUDE:g}) = {math.log(MAX_MAGNITUDE):.2f}")
            return None
        return None if mu is None or sigma is None else Dist("lognormal", (math.exp(mu), sigma))
    points: list[tuple[float, float]] = []
    for key in r.spec:
        if key == "dist":
            continue
        match = _PERCENTILE.match(str(key))
        pct = float(match.group(1)) if match else 50.0  # the other key is the median
        if not 0 < pct < 100:
            r.bad(str(key), r.spec[key], "a percentile strictly between 0 and 100 (p1 ... p99, p2.5)")
            continue
        value = r.number(str(key), low=0, strict=True)
        if value is not None:
            points.append((pct, value))
    if r.issues:
        return None
    if len(points) != 2 or points[0][0] == points[1][0]:
        expected = "two points: the median and a percentile (median: 0.1, p90: 0.16), two percentiles, or mu and sigma"
        r.bad(None, r.spec, expected)
        return None
    (p1, v1), (p2, v2) = sorted(points)
    if v2 < v1:
        r.bad(f"p{p2:g}" if p2 != 50 else "median", v2, f"a value at least the lower percentile's ({v1:g})")
        return None
    z1, z2 = (float(norm_ppf(p / 100)) for p in (p1, p2))
    sigma = (math.log(v2) - math.log(v1)) / (z2 - z1)
    median = v1 if p1 == 50 else v2 if p2 == 50 else math.exp(math.log(v1) - sigma * z1)
    return Dist("lognormal", (median, sigma))


def _read_triangular(r: _Reader) -> Dist | None:
    month = r.spec.get("dist") == "triangular_month"
    low, mode, high = (r.month(k) if month else r.number(k) for k in ("low", "mode", "high"))
    if low is None or mode is None or high is None:
        return None
    if low > high:
        r.bad(None, r.spec, f"low ({r.spec['low']}) at most high ({r.spec['high']})")
    elif not low <= mode <= high:
        r.bad("mode", r.spec["mode"], f"a mode within [low, high] = [{r.spec['low']}, {r.spec['high']}]")
    return Dist(str(r.spec["dist"]), (float(low), float(mode), float(high)), month=month, whole=month)


def _read_uniform(r: _Reader) -> Dist | None:
    month = r.spec.get("dist") == "uniform_month"
    low, high = (r.month(k) if month else r.number(k) for k in ("low", "high"))
    if low is None or high is None:
        return None
    if low > high:
        r.bad(None, r.spec, f"low ({r.spec['low']}) at most high ({r.spec['high']})")
    return Dist(str(r.spec["dist"]), (float(low), float(high)), month=month, whole=month)


def _read_discrete(r: _Reader) -> Dist | None:
    values = r.spec.get("values", "(missing)")
    if not isinstance(values, list) or not values:
        r.bad("values", values, "a non-empty list of numbers, or of months YYYY-MM")
        return None
    month = all(isinstance(v, str) for v in values)
    sub = _Reader(r.file, _join(r.path, "values"), dict(enumerate(values)))
    read = [sub.month(i, v) if month else sub.number(i) for i, v in enumerate(values)]
    r.issues += sub.issues
    weights = r.spec.get("weights")
    probs = [1.0] * len(values)
    if weights is not None:
        if not isinstance(weights, list) or len(weights) != len(values):
            r.bad("weights", weights, f"a list of {len(values)} weights, one per value")
            return None
        wsub = _Reader(r.file, _join(r.path, "weights"), dict(enumerate(weights)))
        read_weights = [wsub.number(i, low=0) for i in range(len(weights))]
        r.issues += wsub.issues
        probs = [w or 0.0 for w in read_weights]
        if not wsub.issues and not sum(probs) > 0:
            r.bad("weights", weights, "weights that add up to a positive number")
    if r.issues:
        return None
    kept = sorted((float(v), w) for v, w in zip(read, probs, strict=True) if v is not None and w > 0)
    total = sum(w for _, w in kept)
    return Dist(
        str(r.spec["dist"]),
        values=tuple(v for v, _ in kept),
        probs=tuple(w / total for _, w in kept),
        month=month,
        whole=month,
    )


_READERS: dict[str, Callable[[_Reader], Dist | None]] = {
    "normal": _read_normal,
    "lognormal": _read_lognormal,
    "triangular": _read_triangular,
    "triangular_month": _read_triangular,
    "uniform": _read_uniform,
    "uniform_month": _read_uniform,
    "choice": _read_discrete,
    "empirical": _read_discrete,
}


def distribution_issues(data: Any, file: str = "<scenario>") -> tuple[dict[str, Dist], list[InputIssue]]:
    """Every distribution in scenario data that reads well, and every problem of those that do not."""
    dists: dict[str, Dist] = {}
    issues: list[InputIssue] = []
    for path, _, spec in iter_specs(data):
        dist, found = parse_spec(spec, path, file)
        issues += found
        if dist is not None:
            dists[path] = dist
    return dists, issues


def find_distributions(data: Any, file: str = "<scenario>") -> dict[str, Dist]:
    """Every distribution in raw scenario data, by the path the scenario writes (``sites[0].grid_power[0].mw``).

    Raises
    ------
    ScenarioError
        Listing every spec that cannot be read (unknown ``dist``, sd < 0, low > high, a mode outside [low, high], a
        percentile outside (0, 100), weights not adding up to a positive number, ...).
    """
    dists, issues = distribution_issues(data, file)
    if issues:
        raise ScenarioError(issues)
    return dists


# ---------------------------------------------------------------------------------------------------------------
def replace_distributions(
    data: Any,
    value_of: Callable[[str, Mapping[str, Any]], Any],
    specs: Sequence[tuple[str, tuple[object, ...]]] | None = None,
    share: bool = False,
) -> Any:
    """A copy of scenario data with each distribution spec replaced by ``value_of(path, spec)`` and the top-level
    ``correlations`` dropped; data without distributions is returned as it is.

    ``specs``: the ``(path, parts)`` of :func:`iter_specs` when already read (a sweep reads them once, not per
    draw). ``share``: the parts of the tree with no distribution below are the input's own objects, not copies (for
    a caller that only reads the result, e.g. to validate one draw; the default copies everything)."""
    found = [(path, parts) for path, parts, _ in iter_specs(data)] if specs is None else list(specs)
    paths = {path for path, _ in found}
    if not paths and not (isinstance(data, dict) and CORRELATIONS_KEY in data):
        return data
    on_the_way = {parts[:k] for _, parts in found for k in range(len(parts))} if share else None

    def rebuild(node: Any, path: str, parts: tuple[object, ...]) -> Any:
        if on_the_way is not None and parts and parts not in on_the_way and path not in paths:
            return node  # nothing uncertain below: shared, not copied
        if isinstance(node, dict):
            if path in paths and "dist" in node:
                return value_of(path, node)
            return {
                k: rebuild(v, _join(path, k), (*parts, k)) for k, v in node.items() if path or k != CORRELATIONS_KEY
            }
        if isinstance(node, list):
            return [rebuild(v, _join(path, i), (*parts, i)) for i, v in enumerate(node)]
        return node

    return rebuild(data, "", ())


def quantile_data(data: Any, q: float = 0.5, dists: Mapping[str, Dist] | None = None) -> Any:
    """Raw scenario data with every distribution replaced by its ``q``-quantile (months as ``YYYY-MM``), the data of
    a deterministic scenario. ``dists`` (read once, e.g. with field types applied) default to reading ``data``.

    Raises
    ------
    ScenarioError
        A distribution that cannot be read, or ``q`` outside [0, 1].
    """
    if not 0 <= q <= 1:
        raise ScenarioError([InputIssue("quantile_data", "q", q, "a probability in [0, 1] (0.5: the median)")])
    dists = find_distributions(data) if dists is None else dists
    return replace_distributions(data, lambda path, _: dists[path].quantile(q))


def _normals(path: str, n: int, seed: int) -> np.ndarray:
    """The input's own stream of ``n`` standard normals: the first draws are the same whatever ``n`` is."""
    key = int.from_bytes(hashlib.blake2b(path.encode("utf-8"), digest_size=8).digest(), "little")
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(key,))).standard_normal(n)


def sample(
    dists: Mapping[str, Dist], n: int, seed: int = 0, correlations: tuple[Correlation, ...] | list[Correlation] = ()
) -> dict[str, np.ndarray]:
    """``n`` draws of every input: ``{path: array(n)}``, floats (whole-valued for counts), month numbers as int64.

    A draw depends on ``seed``, the input's path and the draw's index only; ``correlations`` (between inputs of
    ``dists``) mix the inputs' normals through a Gaussian copula.

    Raises
    ------
    ScenarioError
        ``n`` or ``seed`` not a whole number >= 0, a correlation naming an input not in ``dists``, or correlations
        that cannot hold together.
    """
    for name, value in (("n", n), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            raise ScenarioError([InputIssue("sample", name, value, "a whole number >= 0")])
    z = correlate({path: _normals(path, int(n), int(seed)) for path in dists}, correlations)
    out = {}
    for path, dist in dists.items():
        x = dist.from_normal(z[path])
        out[path] = x.astype(np.int64) if dist.month else x
    return out
