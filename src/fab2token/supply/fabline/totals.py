"""The fab line's per-family figures from an event loop's totals: one function that both loops (:mod:`.kernel`,
:mod:`.native`) end with, so their results are computed alike."""

from __future__ import annotations

from typing import Any

__all__ = ["summaries"]


def summaries(
    fams: list[Any],
    busy_min: list[float],
    down_min: list[float],
    qlen_time: list[float],
    setup_total: list[float],
    end: float,
) -> dict[str, dict[str, float]]:
    """Per family, from the loop's totals at the run's ``end`` [min]: utilisation, mean queue, availability and the
    share of busy time spent on setups (the C++ loop's totals go through this same function)."""
    span = max(end, 1e-9)
    return {
        "utilisation": {f.name: busy_min[i] / (f.tools * span) for i, f in enumerate(fams) if f.tools},
        "mean_queue": {f.name: qlen_time[i] / span for i, f in enumerate(fams)},
        "availability": {f.name: 1.0 - down_min[i] / (f.tools * span) for i, f in enumerate(fams) if f.tools},
        "setup_share": {f.name: setup_total[i] / max(busy_min[i], 1e-9) for i, f in enumerate(fams) if setup_total[i]},
    }
