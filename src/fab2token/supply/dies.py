"""From wafer starts to accelerators: dies per wafer, die yield, learning curves.

Every function is a pure function of numpy arrays (scalars work too) with units in the parameter names,
so the same code serves one look-up and 10,000 Monte Carlo draws.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fab2token.errors import ModelError

__all__ = [
    "gross_dies_per_wafer",
    "gross_dies_per_wafer_approx",
    "die_dimensions_mm",
    "die_yield",
    "yield_poisson",
    "yield_murphy",
    "yield_seeds",
    "yield_bose_einstein",
    "yield_negative_binomial",
    "d0_learning_curve",
    "check_reticle",
    "YIELD_MODELS",
]

Array = NDArray[np.float64]


def die_dimensions_mm(die_area_mm2: ArrayLike, aspect_ratio: ArrayLike = 1.0) -> tuple[Array, Array]:
    """Width and height [mm] of a rectangular die of the given area [mm^2] and width/height ratio."""
    a = np.asarray(die_area_mm2, dtype=float)
    r = np.asarray(aspect_ratio, dtype=float)
    height = np.sqrt(a / r)
    return height * r, height


def _offsets(pitch: Array, die: Array, scribe: Array, n: int) -> Array:
    """Candidate grid offsets in [0, pitch): an even sweep plus die-centred and street-centred grids."""
    sweep = np.arange(n) / n
    base = pitch[..., None] * sweep
    centred_die = np.mod(-die / 2, pitch)[..., None]
    centred_street = np.mod(scribe / 2, pitch)[..., None]
    return np.concatenate([base, centred_die, centred_street], axis=-1)


def gross_dies_per_wafer(
    die_width_mm: ArrayLike,
    die_height_mm: ArrayLike,
    wafer_diameter_mm: ArrayLike = 300.0,
    edge_exclusion_mm: ArrayLike = 3.0,
    scribe_mm: ArrayLike = 0.1,
    offset_steps: int = 16,
) -> NDArray[np.int64]:
    """Exact count of whole dies on a rectangular grid inside the usable circle, at the best grid offset.

    Dies sit on a grid of pitch (width + scribe) x (height + scribe); a die counts when all four corners lie
    within the usable radius (wafer radius minus edge exclusion). The grid offset is searched over an even
    sweep of ``offset_steps`` positions per axis plus the die-centred and street-centred grids.

    Parameters
    ----------
    die_width_mm, die_height_mm : array_like
        Die size without scribe [mm].
    wafer_diameter_mm : array_like
        Wafer diameter [mm], e.g. 300 or 200.
    edge_exclusion_mm : array_like
        Unusable ring at the wafer edge [mm].
    scribe_mm : array_like
        Scribe-line (street) width between dies [mm].
    offset_steps : int
        Offsets tried per axis in the even sweep.

    Returns
    -------
    ndarray of int64
        Gross dies per wafer, broadcast over the inputs.
    """
    w, h, d, e, s = np.broadcast_arrays(
        *(
            np.asarray(x, dtype=float)
            for x in (die_width_mm, die_height_mm, wafer_diameter_mm, edge_exclusion_mm, scribe_mm)
        )
    )
    if np.any(w <= 0) or np.any(h <= 0):
        raise ModelError("die width and height must be positive (mm)")
    shape = w.shape
    flat = [a.reshape(-1) for a in (w, h, d, e, s)]
    # identical dies (the usual Monte Carlo case: other inputs vary) are counted once
    params, inverse = np.unique(np.stack(flat, axis=-1), axis=0, return_inverse=True)
    out = np.empty(len(params), dtype=np.int64)
    for lo in range(0, len(params), _CHUNK):  # bounded memory; each chunk is fully vectorised
        w_, h_, d_, e_, s_ = params[lo : lo + _CHUNK].T
        out[lo : lo + _CHUNK] = _count_grid(w_, h_, d_, e_, s_, offset_steps)
    return out[inverse.reshape(-1)].reshape(shape)


_CHUNK = 64


def _count_grid(w: Array, h: Array, d: Array, e: Array, s: Array, offset_steps: int) -> NDArray[np.int64]:
    radius = d / 2 - e
    px, py = w + s, h + s
    ox = _offsets(px, w, s, offset_steps)  # (n, nx)
    oy = _offsets(py, h, s, offset_steps)  # (n, ny)
    n_rows = int(np.max(2 * np.ceil(radius / py) + 3))
    j = np.arange(n_rows) - (np.ceil(radius / py)[:, None] + 1)  # (n, J)
    y_low = oy[:, :, None] + j[:, None, :] * py[:, None, None]  # (n, ny, J)
    y_high = y_low + h[:, None, None]
    r = radius[:, None, None]
    inside = (y_low >= -r) & (y_high <= r)
    y_far = np.maximum(np.abs(y_low), np.abs(y_high))
    half_chord = np.where(inside, np.sqrt(np.clip(r**2 - y_far**2, 0.0, None)), -np.inf)
    # whole dies per row for every x offset: (n, nx, ny, J)
    c = half_chord[:, None, :, :]
    x0 = ox[:, :, None, None]
    pxx = px[:, None, None, None]
    per_row = np.floor((c - w[:, None, None, None] - x0) / pxx) - np.ceil((-c - x0) / pxx) + 1
    total = np.clip(per_row, 0, None).sum(axis=-1)  # (n, nx, ny)
    return total.max(axis=(-1, -2)).astype(np.int64)


def gross_dies_per_wafer_approx(
    die_area_mm2: ArrayLike,
    wafer_diameter_mm: ArrayLike = 300.0,
    edge_exclusion_mm: ArrayLike = 3.0,
    scribe_mm: ArrayLike = 0.1,
    aspect_ratio: ArrayLike = 1.0,
) -> Array:
    """The common closed-form estimate ``pi d^2 / (4 A) - pi d / sqrt(2 A)``.

    ``d`` is the usable diameter [mm] and ``A`` the die area including its share of scribe [mm^2]. The second
    term approximates the partial dies lost at the edge (de Vries, "Investigation of gross die per wafer
    formulas", IEEE Trans. Semicond. Manuf. 18(1), 2005).
    """
    w, h = die_dimensions_mm(die_area_mm2, aspect_ratio)
    s = np.asarray(scribe_mm, dtype=float)
    area = (w + s) * (h + s)
    d = np.asarray(wafer_diameter_mm, dtype=float) - 2 * np.asarray(edge_exclusion_mm, dtype=float)
    return np.pi * d**2 / (4 * area) - np.pi * d / np.sqrt(2 * area)


def check_reticle(die_area_mm2: float, reticle_limit_mm2: float = 858.0, name: str = "die") -> None:
    """Raise :class:`ModelError` when one die is larger than the lithography reticle field."""
    if die_area_mm2 > reticle_limit_mm2:
        raise ModelError(
            f"{name}: a compute die of {die_area_mm2:g} mm2 exceeds the reticle field of {reticle_limit_mm2:g} mm2; "
            "split it into several dies (set compute_dies and the per-die compute_die_area_mm2)"
        )


def _ad(die_area_mm2: ArrayLike, d0_per_cm2: ArrayLike) -> Array:
    return np.asarray(die_area_mm2, dtype=float) / 100.0 * np.asarray(d0_per_cm2, dtype=float)


def yield_poisson(die_area_mm2: ArrayLike, d0_per_cm2: ArrayLike) -> Array:
    """Poisson yield ``exp(-A D0)``: defects independent and uniform (the most pessimistic model)."""
    return np.exp(-_ad(die_area_mm2, d0_per_cm2))


def yield_murphy(die_area_mm2: ArrayLike, d0_per_cm2: ArrayLike) -> Array:
    """Murphy's yield ``((1 - exp(-A D0)) / (A D0))^2`` (triangular defect-density distribution)."""
    ad = _ad(die_area_mm2, d0_per_cm2)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = (-np.expm1(-ad) / ad) ** 2  # expm1: exact for tiny A D0
    return np.where(ad > 0, y, 1.0)


def yield_seeds(die_area_mm2: ArrayLike, d0_per_cm2: ArrayLike) -> Array:
    """Seeds' yield ``1 / (1 + A D0)`` (exponential defect-density distribution)."""
    return 1.0 / (1.0 + _ad(die_area_mm2, d0_per_cm2))


def yield_bose_einstein(die_area_mm2: ArrayLike, d0_per_cm2: ArrayLike, critical_layers: ArrayLike = 1) -> Array:
    """Bose-Einstein yield ``(1 + A D0)^-n`` with ``D0`` per critical layer and ``n`` critical layers."""
    return (1.0 + _ad(die_area_mm2, d0_per_cm2)) ** -np.asarray(critical_layers, dtype=float)


def yield_negative_binomial(die_area_mm2: ArrayLike, d0_per_cm2: ArrayLike, alpha: ArrayLike = 3.0) -> Array:
    """Negative binomial yield ``(1 + A D0 / alpha)^-alpha``; ``alpha`` is the defect clustering parameter."""
    a = np.asarray(alpha, dtype=float)
    return (1.0 + _ad(die_area_mm2, d0_per_cm2) / a) ** -a


YieldModel = Literal["poisson", "murphy", "seeds", "bose-einstein", "negative-binomial"]
YIELD_MODELS: tuple[str, ...] = ("poisson", "murphy", "seeds", "bose-einstein", "negative-binomial")


def die_yield(
    die_area_mm2: ArrayLike,
    d0_per_cm2: ArrayLike,
    model: str = "murphy",
    alpha: ArrayLike = 3.0,
    critical_layers: ArrayLike = 1,
) -> Array:
    """Die yield in [0, 1] by the named model (see the ``yield_*`` functions)."""
    if model == "poisson":
        return yield_poisson(die_area_mm2, d0_per_cm2)
    if model == "murphy":
        return yield_murphy(die_area_mm2, d0_per_cm2)
    if model == "seeds":
        return yield_seeds(die_area_mm2, d0_per_cm2)
    if model == "bose-einstein":
        return yield_bose_einstein(die_area_mm2, d0_per_cm2, critical_layers)
    if model == "negative-binomial":
        return yield_negative_binomial(die_area_mm2, d0_per_cm2, alpha)
    raise ModelError(f"unknown yield model {model!r}; expected one of {', '.join(YIELD_MODELS)}")


def d0_learning_curve(
    months_since_launch: ArrayLike,
    d0_mature_per_cm2: ArrayLike,
    d0_launch_per_cm2: ArrayLike,
    ramp_months: ArrayLike,
) -> Array:
    """Defect density falling exponentially from launch to mature: ``D_m + (D_l - D_m) exp(-t / tau)``.

    Before launch (negative ``t``) the launch value holds. ``ramp_months`` is the time constant tau [months].
    """
    t = np.clip(np.asarray(months_since_launch, dtype=float), 0.0, None)
    dm = np.asarray(d0_mature_per_cm2, dtype=float)
    dl = np.asarray(d0_launch_per_cm2, dtype=float)
    tau = np.asarray(ramp_months, dtype=float)
    return dm + (dl - dm) * np.exp(-t / tau)
