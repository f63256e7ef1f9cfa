"""Month axes and step schedules as arrays."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from fab2token.scenario.models import month_label, month_number

__all__ = ["month_axis", "month_labels", "step_schedule", "hours_in_month"]


def month_axis(start: str, months: int) -> NDArray[np.int64]:
    """Month numbers (see :func:`fab2token.scenario.models.month_number`) of the horizon."""
    return month_number(start) + np.arange(months, dtype=np.int64)


def month_labels(axis: NDArray[np.int64]) -> list[str]:
    return [month_label(int(m)) for m in axis]


def step_schedule(froms: Sequence[str], values: Sequence[float], axis: NDArray[np.int64]) -> NDArray[np.float64]:
    """Value of a step schedule in every month of ``axis``: the last step at or before it, 0 before the first."""
    starts = np.array([month_number(f) for f in froms], dtype=np.int64)
    vals = np.concatenate([[0.0], np.asarray(values, dtype=float)])
    return vals[np.searchsorted(starts, axis, side="right")]


def hours_in_month(axis: NDArray[np.int64]) -> NDArray[np.float64]:
    """Hours in each calendar month of ``axis``."""
    first = ((axis // 12 - 1970) * 12 + axis % 12).astype("datetime64[M]")
    days = (first + 1).astype("datetime64[D]") - first.astype("datetime64[D]")
    return days.astype(float) * 24.0
