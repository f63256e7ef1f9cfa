"""Context parallelism in the training model: each sequence over ``cp`` ranks splits the per-rank compute and
activations by ``cp``, shards the optimizer states over DP x CP, costs the K/V all-gathers and their gradients'
reduce-scatters the Llama 3 report describes (worked out by hand here), and a degree that cannot split the sequence
or the cluster is refused with the option named."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from fab2token import catalog
from fab2token.cli.main import app
from fab2token.errors import OptionError
from fab2token.workloads.architecture import model_spec
from fab2token.workloads.perf import Layout, hardware_from_catalog, shape_from_spec
from fab2token.workloads.perf_comm import cp_comm_per_layer_s
from fab2token.workloads.training import train

ARGS = ("llama-3-8b", 1e12, "H100")
KW = {"seq_len": 32768, "global_batch_tokens": 8 * 2**20, "tp": 8, "pp": 1, "recompute": "none", "zero_stage": 1}


def test_cp_divides_the_work_of_a_replica():
    """The same 32 data-parallel replicas, each over 8 or 16 accelerators (CP 1 or 2): every rank computes half as
    much with CP 2 (its GEMMs, attention core, element-wise kernels and logits all cover half the tokens), holds half
    the activations, and the optimizer states shard over twice the ranks."""
    one = train(*ARGS, 256, **KW)
    two = train(*ARGS, 512, cp=2, **KW)
    assert two.step_breakdown_s["compute_s"] == pytest.approx(one.step_breakdown_s["compute_s"] / 2, rel=1e-12)
    m1, m2 = one.memory_per_accelerator_gb, two.memory_per_accelerator_gb
    assert m2["activations_gb"] == pytest.approx(m1["activations_gb"] / 2, rel=1e-12)
    assert m2["optimizer_gb"] == pytest.approx(m1["optimizer_gb"] / 2, rel=1e-12)
    assert m2["weights_gb"] == pytest.approx(m1["weights_gb"], rel=1e-12)  # ZeRO 1: weights whole on every rank
    assert one.step_breakdown_s["cp_comm_s"] == 0.0 and two.step_breakdown_s["cp_comm_s"] > 0.0


def test_the_kv_all_gather_by_hand():
    """Llama 3 8B (8 KV heads of 128), TP 8 (one KV head per rank), CP 4: TP x CP = 32 ranks span four 8-GPU NVLink
    servers, so the scale-out NIC carries the CP traffic. A rank's 8,192 tokens x (K, V) x 128 x 2 bytes is a
    4 MiB chunk; forward gathers the other 3 chunks, backward reduce-scatters 3: 2 x 3 x 4 MiB at the NIC's bus
    bandwidth (no recomputation); selective recomputation gathers once more."""
    m, acc = model_spec("llama-3-8b"), catalog.lookup("accelerators", "H100")
    shape, hw = shape_from_spec(m), hardware_from_catalog(acc)
    lay = Layout(count=512, tp=8, pp=1, cp=4, seq_len=32768, global_batch_tokens=8 * 2**20, recompute="none")
    chunk = 8192 * 2 * 128 * 2.0
    busbw = float(acc["scaleout_gb_per_s"]) * 1e9 * catalog.overhead("scaleout_busbw_frac")
    assert float(cp_comm_per_layer_s(shape, hw, lay, 8192.0)) == pytest.approx(2 * 3 * chunk / busbw, rel=1e-12)
    sel = Layout(count=512, tp=8, pp=1, cp=4, seq_len=32768, global_batch_tokens=8 * 2**20, recompute="selective")
    assert float(cp_comm_per_layer_s(shape, hw, sel, 8192.0)) == pytest.approx(3 * 3 * chunk / busbw, rel=1e-12)


def test_a_cp_that_cannot_split_the_sequence_or_the_cluster_is_refused():
    with pytest.raises(OptionError, match="cp"):
        train(*ARGS, 256, **(KW | {"seq_len": 8190}), cp=4)  # 8,190 tokens do not split into 8 chunks
    with pytest.raises(OptionError, match="cp"):
        train(*ARGS, 264, **KW, cp=2)  # TP x CP = 16 does not divide 264 accelerators
    r = CliRunner().invoke(
        app, ["train", "-m", "llama-3-8b", "--tokens", "1e12", "-a", "H100", "-n", "256", "--cp", "3"]
    )
    assert r.exit_code == 2 and "cp" in r.output and "chunks" in r.output
