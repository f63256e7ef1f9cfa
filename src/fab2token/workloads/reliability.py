"""Reliability of a training cluster: failures, the checkpoint interval (Young/Daly) and the goodput they leave."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fab2token import catalog
from fab2token.errors import ModelError

__all__ = ["young_daly_interval_s", "goodput_frac", "cluster_reliability"]

Array = NDArray[np.float64]


def young_daly_interval_s(checkpoint_write_s: ArrayLike, mtbf_s: ArrayLike) -> Array:
    """Optimal time between checkpoints [s]: Daly's first-order ``sqrt(2 d M) - d`` (Daly, FGCS 22(3), 2006),
    which refines Young's ``sqrt(2 d M)`` (CACM 17(9), 1974); at least ``d``."""
    d = np.asarray(checkpoint_write_s, dtype=float)
    m = np.asarray(mtbf_s, dtype=float)
    return np.maximum(np.sqrt(2.0 * d * m) - d, d)


def goodput_frac(
    interval_s: ArrayLike, checkpoint_write_s: ArrayLike, restart_s: ArrayLike, mtbf_s: ArrayLike
) -> Array:
    """Fraction of wall time that advances training: checkpoint writes take ``d / (tau + d)``; each failure costs the
    restart plus, on average, half a checkpoint segment of lost work. A free checkpoint (``d = 0``, so ``tau = 0``)
    costs nothing: its share is the limit ``d / sqrt(2 d M) -> 0``, not 0/0."""
    tau = np.asarray(interval_s, dtype=float)
    d = np.asarray(checkpoint_write_s, dtype=float)
    r = np.asarray(restart_s, dtype=float)
    m = np.asarray(mtbf_s, dtype=float)
    segment = tau + d
    writing = np.divide(d, segment, out=np.zeros(np.broadcast(d, segment).shape), where=segment > 0)
    waste = writing + (r + segment / 2.0) / m
    return np.clip(1.0 - waste, 0.0, 1.0)


def cluster_reliability(
    failure_rate_per_accelerator_hour: float | None, count: int, checkpoint_write_s: float, restart_s: float
) -> tuple[float, float, float, float]:
    """Failure rate, cluster MTBF [s], Young/Daly checkpoint interval [s] and goodput; an error when no progress."""
    lam = (
        failure_rate_per_accelerator_hour
        if failure_rate_per_accelerator_hour is not None
        else catalog.overhead("failure_rate_per_accelerator_hour")
    )
    mtbf_s = 3600.0 / (lam * count) if lam > 0 else math.inf
    interval = float(young_daly_interval_s(checkpoint_write_s, mtbf_s)) if math.isfinite(mtbf_s) else math.inf
    good = float(goodput_frac(interval, checkpoint_write_s, restart_s, mtbf_s)) if math.isfinite(mtbf_s) else 1.0
    if good <= 0:
        raise ModelError(
            f"no forward progress: the cluster fails every {mtbf_s / 60:.1f} minutes, faster than a "
            f"checkpoint ({checkpoint_write_s:g} s) and restart ({restart_s:g} s) cycle"
        )
    return lam, mtbf_s, interval, good
