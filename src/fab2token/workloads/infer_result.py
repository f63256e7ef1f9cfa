"""What ``fab2token infer`` answers: :class:`InferResult` and its ``--json`` keys (:data:`INFER_KEYS`)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from fab2token.workloads.token_cost import TOKEN_COST_KEYS

__all__ = ["INFER_KEYS", "InferResult"]

INFER_KEYS = (
    "model",
    "accelerator",
    "count",
    "tp",
    "ep",
    "replicas",
    "precision",
    "batch",
    "max_batch_memory",
    "tokens_per_s",
    "tokens_per_s_per_accelerator",
    "ttft_ms",
    "tpot_ms",
    "kv_cache_gb",
    "kv_cache_bytes_per_token",
    "weights_gb_per_accelerator",
    "bound",
    "usd_per_million_tokens",
    "meets_slo",
    "reason",
    "engine_efficiency",
    "disaggregated",
    *TOKEN_COST_KEYS[:-2],
    "unknown_cost_terms",
)


@dataclass(frozen=True)
class InferResult:
    """One serving configuration; the keys of ``fab2token infer --json``."""

    model: str
    accelerator: str
    count: int
    tp: int
    ep: int
    replicas: int
    precision: str
    batch: float
    max_batch_memory: float
    tokens_per_s: float
    tokens_per_s_per_accelerator: float
    ttft_ms: float
    tpot_ms: float
    kv_cache_gb: float
    kv_cache_bytes_per_token: float
    weights_gb_per_accelerator: float
    bound: str
    usd_per_million_tokens: float
    meets_slo: bool
    reason: str
    engine_efficiency: float
    disaggregated: dict[str, float] | None = None
    price_usd: float | None = None
    price_source: str | None = None
    useful_life_years: float = math.nan
    cloud_usd_per_million_tokens: dict[str, float] | None = None
    power_kw_per_accelerator: float = math.nan
    joules_per_token: float = math.nan
    tokens_per_s_per_mw: float = math.nan
    usd_per_accelerator_hour: float = math.nan
    usd_per_accelerator_hour_parts: dict[str, float] | None = None
    unknown_cost_terms: list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
