"""A serving replica's fixed inputs from the catalog (:func:`fab2token.workloads.inference.replica`): the peak and
achievable rates of the part, the weights' split into experts and the rest, the experts' all-to-all bandwidth, and
how attention computes."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from fab2token import catalog
from fab2token.errors import ModelError
from fab2token.options import refuse

Array = NDArray[np.float64]


def known(v: Any) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v))


#: bytes per weight (and per KV-cache value). The block-scaled 4-bit formats carry their scales: NVFP4 one FP8 (E4M3)
#: scale per 16 values, 4.5 bits (NVIDIA, "Introducing NVFP4 for Efficient and Accurate Low-Precision Inference",
#: NVIDIA Technical Blog, 2025-06-24); MXFP4 one 8-bit (E8M0) scale per 32 values, 4.25 bits (Open Compute Project,
#: "OCP Microscaling Formats (MX) Specification" v1.0, 2023)
BYTES = {
    "bf16": 2.0,
    "fp16": 2.0,
    "fp8": 1.0,
    "int8": 1.0,
    "int4": 0.5,
    "nvfp4": 4.5 / 8.0,
    "mxfp4": 4.25 / 8.0,
}
FP4_FORMATS = tuple(k for k, v in catalog.COMPUTE_FORMAT.items() if v == "fp4")
#: the KV cache of 4-bit weights: fp8 (vLLM's cache formats are the model's dtype or fp8: kv_cache_dtype "auto" or
#: "fp8", https://docs.vllm.ai/en/latest/serving/engine_args.html)
FP4_KV_DEFAULT = "fp8"


def serving_rates(
    acc: dict[str, Any], precision: str, kv_precision: str | None, engine_efficiency: float | None
) -> tuple[float, float, float, float, float]:
    """Peak FLOP/s at the weights' precision, its achievable share, HBM bandwidth share, engine efficiency and
    scale-up bandwidth (B/s) of ``acc``; clear errors for an unknown precision or a missing figure."""
    for name, value in (("precision", precision), ("kv_precision", kv_precision)):
        if value is not None and value not in BYTES:
            raise ModelError(f"unknown {name} {value!r}; expected one of {', '.join(BYTES)}")
    listed = catalog.precisions(acc)
    fmt = catalog.COMPUTE_FORMAT.get(precision)
    if fmt is not None and listed and fmt not in listed:
        refuse("infer", "precision", precision, f"a format {acc['name']} computes in: one of {', '.join(listed)}")
    peak_col = "dense_fp8_flop_per_s" if BYTES[precision] <= 1.0 else "dense_bf16_flop_per_s"
    if precision in FP4_FORMATS:
        peak_col = "dense_fp4_flop_per_s"
        if not known(acc.get(peak_col)):
            raise ModelError(
                f"accelerator {acc['name']}: {peak_col} is not published; set catalog.accelerators.{acc['name']}."
                f"{peak_col} to serve {precision}"
            )
    peak = acc[peak_col] if known(acc[peak_col]) else acc["dense_bf16_flop_per_s"]
    if not known(peak) or not known(acc["hbm_tb_per_s"]) or not known(acc["hbm_gb"]):
        raise ModelError(f"accelerator {acc['name']}: peak FLOP/s, HBM size and bandwidth are needed for inference")
    ce = catalog.compute_efficiency(acc, fp8=peak_col == "dense_fp8_flop_per_s" and known(acc[peak_col]))
    be = (
        acc["hbm_bw_efficiency_frac"]
        if known(acc["hbm_bw_efficiency_frac"])
        else catalog.overhead("hbm_bw_efficiency_default_frac")
    )
    engine = catalog.overhead("serving_engine_efficiency_frac") if engine_efficiency is None else engine_efficiency
    if not 0.0 < engine <= 1.0:
        raise ModelError(f"engine efficiency must be in (0, 1]; got {engine!r}")
    scaleup = (acc["scaleup_gb_per_s"] if known(acc["scaleup_gb_per_s"]) else 100.0) * 1e9
    return float(peak), float(ce), float(be), float(engine), scaleup


def weight_split(model: dict[str, Any], wbytes: float) -> tuple[float, float, float, float]:
    """(MoE layers, parameters of one routed expert, bytes of all routed experts, bytes of everything else: what
    each attention group holds whole)."""
    moe_layers = model["layers"] - model["dense_layers"] if model["experts"] > 0 else 0.0
    mlp_mult = 3.0 if model["gated_mlp"] > 0 else 2.0
    expert_params = mlp_mult * model["hidden"] * model["moe_ffn"]
    experts_total = moe_layers * (model["experts"] if model["experts"] > 0 else 0.0) * expert_params * wbytes
    return moe_layers, expert_params, experts_total, model["params_total"] * wbytes - experts_total


def all_to_all_bw(acc: dict[str, Any], ranks: Array, scaleup: float) -> Array:
    """The experts' dispatch and combine bandwidth [B/s]: the scale-up fabric while the replica fits one domain,
    else each accelerator's scale-out NIC at the share of its line rate that DeepEP's low-latency kernels reach
    (``ep_all_to_all_rdma_efficiency_frac``, ``catalog/overheads.csv``: decode-sized batches over RDMA)."""
    domain = float(acc["scaleup_domain"]) if known(acc["scaleup_domain"]) else 1.0
    out_bw = (acc["scaleout_gb_per_s"] if known(acc["scaleout_gb_per_s"]) else math.nan) * 1e9
    return np.where(ranks <= domain, scaleup, out_bw * catalog.overhead("ep_all_to_all_rdma_efficiency_frac"))


class Attention(NamedTuple):
    """How a replica's attention computes (:func:`attention_of`)."""

    decode_dim: float | None  # mean width a query head's scores and values span while decoding (None: head_dim)
    prefill_dim: float | None  # the same while prefilling (None: head_dim)
    flop_per_s: float  # the attention kernels' peak


def attention_of(model: dict[str, Any], acc: dict[str, Any], kv_precision: str) -> Attention:
    """How attention computes. Decode: MLA's absorbed attention scores each query head against the latent KV and
    RoPE key (``kv_dim_per_layer``) and reads the latent (``kv_latent_dim``) as values, the width the mean of the
    two (the whole latent for both where ``kv_latent_dim`` is not given). Prefill: MLA runs unabsorbed, queries and
    keys of ``qk_head_dim`` and values of ``head_dim`` (SGLang dispatches a prefill without a cached prefix to its MHA
    path and decode to the absorbed MLA kernels: sgl-project/sglang at 0a8dcfa94b4bdbf1d41231a013714329ceb72e25,
    python/sglang/srt/models/deepseek_common/attention_backend_handler.py). Other models: ``head_dim`` (None).
    The peak: the KV cache's format where the part computes in it (FP8), else BF16 (16-bit and integer caches are
    read into 16-bit arithmetic)."""
    kvd, latent, qk = (model.get(k, math.nan) for k in ("kv_dim_per_layer", "kv_latent_dim", "qk_head_dim"))
    decode = (float(kvd) + float(latent)) / 2.0 if known(kvd) and known(latent) else float(kvd) if known(kvd) else None
    prefill = (float(qk) + float(model["head_dim"])) / 2.0 if known(qk) else None
    fp8 = acc.get("dense_fp8_flop_per_s")
    peak = fp8 if kv_precision == "fp8" and known(fp8) else acc["dense_bf16_flop_per_s"]
    return Attention(decode, prefill, float(peak))
