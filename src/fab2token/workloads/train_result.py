"""What ``fab2token train`` answers: :class:`TrainResult` and its ``--json`` keys (:data:`TRAIN_KEYS`)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["TRAIN_KEYS", "TrainResult"]

TRAIN_KEYS = (
    "model",
    "accelerator",
    "count",
    "tokens",
    "flops",
    "flops_per_token",
    "mfu",
    "mfu_source",
    "days",
    "compute_days",
    "accelerator_hours",
    "interruptions_expected",
    "mtbf_hours",
    "goodput",
    "checkpoint_interval_minutes",
    "energy_mwh",
    "cost_usd",
    "memory_per_accelerator_gb",
    "fits_in_memory",
    "min_accelerators_to_fit",
    "step_s",
    "step_breakdown_s",
    "attention_kernel",
)


@dataclass(frozen=True)
class TrainResult:
    """One training run; the keys of ``fab2token train --json``."""

    model: str
    accelerator: str
    count: float
    tokens: float
    flops: float
    flops_per_token: float
    mfu: float
    mfu_source: str
    days: float
    compute_days: float
    accelerator_hours: float
    interruptions_expected: float
    mtbf_hours: float
    goodput: float
    checkpoint_interval_minutes: float
    energy_mwh: float
    cost_usd: float
    memory_per_accelerator_gb: dict[str, float]
    fits_in_memory: bool
    min_accelerators_to_fit: float
    step_s: float = math.nan
    step_breakdown_s: dict[str, float] | None = None  # estimated MFU: the iteration's parts (they sum to step_s)
    attention_kernel: str | None = None  # estimated MFU: the attention kernel it used (fa2, fa3 or flat)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
