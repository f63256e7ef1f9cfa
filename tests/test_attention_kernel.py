"""The attention kernel as a training choice (issue 14): published rates read back, the causal-backward rule checked
against an independent published figure, interpolation and clamping, the flat fallback unchanged, and the option
through train(), the scenario and the CLI."""

from __future__ import annotations

import json
import typing

import numpy as np
import pytest
from typer.testing import CliRunner

from fab2token import catalog
from fab2token.cli.main import app
from fab2token.errors import CatalogError
from fab2token.scenario.workloads import TrainingRun
from fab2token.workloads.attention_kernel import ATTENTION_KERNELS, attention_table
from fab2token.workloads.perf import Layout, Shape, hardware_from_catalog, layer_times
from fab2token.workloads.training import train

SEQ = np.array([512, 1024, 2048, 4096, 8192, 16384], dtype=float)


def _rows(name, kernel, pass_, causal, head_dim):
    rows = catalog.table_rows("attention_kernels")
    return np.array(
        [
            r["tflop_per_s"] * 1e12
            for r in rows
            if (r["name"], r["kernel"], r["pass"], r["causal"], r["head_dim"])
            == (name, kernel, pass_, causal, head_dim)
        ]
    )


def test_every_row_is_sourced_and_the_grids_are_whole():
    rows = catalog.table_rows("attention_kernels")
    assert rows and all(str(r["source"]).strip() for r in rows)
    assert all(
        r["pass"] in ("forward", "backward", "forward_backward") and r["causal"] in ("true", "false") for r in rows
    )
    for name, kernel in {(r["name"], r["kernel"]) for r in rows}:
        assert attention_table(name, kernel) is not None  # every part's kernel forms causal rates


@pytest.mark.parametrize("kernel", ["fa2", "fa3"])
@pytest.mark.parametrize("head_dim", [64, 128])
def test_the_causal_forward_rates_are_the_published_ones_at_the_published_points(kernel, head_dim):
    fwd, _ = attention_table("H100-SXM", kernel).rates(head_dim, SEQ)
    np.testing.assert_allclose(fwd, _rows("H100-SXM", kernel, "forward", "true", head_dim), rtol=1e-12)


def test_the_causal_backward_takes_the_non_causal_backward_over_forward_ratio():
    # rule 2: no causal backward published; causal forward x (non-causal backward / non-causal forward)
    _, bwd = attention_table("H100-SXM", "fa3").rates(128, SEQ)
    ratio = _rows("H100-SXM", "fa3", "backward", "false", 128) / _rows("H100-SXM", "fa3", "forward", "false", 128)
    np.testing.assert_allclose(bwd, _rows("H100-SXM", "fa3", "forward", "true", 128) * ratio, rtol=1e-12)


def test_the_backward_rule_against_flashattention_2s_own_causal_forward_and_backward_figure():
    # An independent check of rule 2: FlashAttention-2's release benchmark (Dao-AILab/flash-attention
    # assets/flash2_h100_fwd_bwd_benchmark.png, commit 4f285b35, 2023-07-17, H100 80GB SXM5, panels (c) and (d)
    # "With causal mask") publishes the causal forward + backward rate, which the table does not hold; rule 2 on the
    # table's FlashAttention-2 rows (the FA3 paper's bars, a year later) predicts it. Gaps seen: -0.2 to -2.6 % at
    # head dim 64, -3.2 to -11.0 % at 128 (largest at 512 tokens). The tolerance of 12 % was set after seeing them:
    # this bounds the rule's error on this figure, it is not a prediction of it.
    published = {64: [141, 192, 232, 257, 273, 284], 128: [163, 221, 265, 294, 308, 328]}
    table = attention_table("H100-SXM", "fa2")
    for head_dim, tflops in published.items():
        fwd, bwd = table.rates(head_dim, SEQ)
        both = 3.5 / (1.0 / fwd + 2.5 / bwd)  # 1 forward + 2.5 backward FLOPs, the papers' count
        np.testing.assert_allclose(both, np.array(tflops) * 1e12, rtol=0.12)
        assert np.all(both <= np.array(tflops) * 1e12)  # the rule errs on the slow side here


def test_a_forward_backward_figure_runs_both_passes_at_its_rate():
    fwd, bwd = attention_table("A100-SXM-80GB", "fa2").rates(64, SEQ)
    np.testing.assert_allclose(fwd, _rows("A100-SXM-80GB", "fa2", "forward_backward", "true", 64), rtol=1e-12)
    np.testing.assert_array_equal(fwd, bwd)


def test_interpolation_is_log_linear_and_clamped_at_the_edges():
    table = attention_table("H100-SXM", "fa3")
    f = lambda h, s: table.rates(h, s)[0]  # noqa: E731
    assert f(128, 2**11.5) == pytest.approx(np.sqrt(f(128, 2048) * f(128, 4096)), rel=1e-12)
    assert f(2**6.5, 4096) == pytest.approx(np.sqrt(f(64, 4096) * f(128, 4096)), rel=1e-12)
    assert f(128, 131072) == f(128, 16384) and f(128, 128) == f(128, 512)  # held beyond the grid
    assert f(192, 4096) == f(128, 4096) and f(32, 4096) == f(64, 4096)
    assert f(np.array([128, 64]), np.array([[2048], [8192]])).shape == (2, 2)  # broadcasts


def test_auto_is_the_newest_kernel_published_for_the_part_and_flat_is_none():
    assert attention_table("H100-SXM", "auto").kernel == "fa3"
    assert attention_table("A100-SXM-80GB", "auto").kernel == "fa2"
    assert attention_table("A100-SXM-80GB", "fa3") is None  # FlashAttention-3 is Hopper-only: not published
    assert attention_table("B200", "auto") is None and attention_table("H100-SXM", "flat") is None
    with pytest.raises(CatalogError, match="expected one of auto, fa2, fa3, flat"):
        attention_table("H100-SXM", "fa9")


def _shape():
    return Shape(layers=32, hidden=4096, heads=32, kv_heads=8, head_dim=128, ffn=14336, vocab=128256, params_total=8e9)


def test_the_attention_core_runs_at_the_kernels_rates():
    acc = catalog.lookup("accelerators", "H100")
    lay = Layout(count=8, tp=2, pp=1, seq_len=8192, global_batch_tokens=4e6, cp=2)
    flat = layer_times(_shape(), hardware_from_catalog(acc, attention_kernel="flat"), lay)
    fa3 = layer_times(_shape(), hardware_from_catalog(acc, attention_kernel="fa3"), lay)
    tokens, heads = 8192 / 2, 32 / 2
    flops = 0.5 * 4.0 * tokens * 8192 * heads * 128  # the rank's queries against the whole sequence, causal
    fwd_rate, bwd_rate = attention_table("H100-SXM", "fa3").rates(128, 8192 / 2)  # looked up at seq / cp
    assert fa3["attention_core_forward_s"] == pytest.approx(flops / fwd_rate, rel=1e-12)
    peak = acc["dense_bf16_flop_per_s"] * catalog.overhead("flash_attention_efficiency_frac")
    assert flat["attention_core_forward_s"] == pytest.approx(flops / peak, rel=1e-12)
    core_bwd = fa3["backward_s"] - flat["backward_s"] + 2.5 * flops / peak  # the GEMM and element-wise parts cancel
    assert core_bwd == pytest.approx(2.5 * flops / bwd_rate, rel=1e-9)


def test_a_part_without_published_rates_is_unchanged_by_the_choice():
    acc = catalog.lookup("accelerators", "B200")
    lay = Layout(count=8, tp=8, pp=1, seq_len=4096, global_batch_tokens=4e6)
    ref = layer_times(_shape(), hardware_from_catalog(acc, attention_kernel="flat"), lay)
    for kernel in ("auto", "fa2", "fa3"):
        got = layer_times(_shape(), hardware_from_catalog(acc, attention_kernel=kernel), lay)
        assert all(np.array_equal(got[k], ref[k]) for k in ref)  # bit for bit


def test_train_reports_the_kernel_its_estimate_used():
    runs = {k: train("llama-3-70b", 1e12, "H100", 1024, seq_len=8192, attention_kernel=k) for k in ATTENTION_KERNELS}
    assert {k: r.attention_kernel for k, r in runs.items()} == {
        "auto": "fa3",
        "fa2": "fa2",
        "fa3": "fa3",
        "flat": "flat",
    }
    assert runs["auto"].mfu == runs["fa3"].mfu
    assert runs["fa2"].mfu < runs["flat"].mfu < runs["fa3"].mfu  # FA2 at ~0.3 of peak, flat 0.5, FA3 ~0.6
    assert train("llama-3-70b", 1e12, "H100", 1024, mfu=0.4).attention_kernel is None  # given, not estimated


def test_the_scenarios_choices_are_the_models():
    assert typing.get_args(TrainingRun.model_fields["attention_kernel"].annotation) == ATTENTION_KERNELS


def test_the_cli_takes_the_kernel_and_refuses_an_unknown_one():
    base = ["train", "-m", "llama-3-8b", "--tokens", "1e12", "-a", "H100", "-n", "64"]
    ok = CliRunner().invoke(app, [*base, "--attention-kernel", "fa2", "--json"])
    assert ok.exit_code == 0 and json.loads(ok.stdout)["attention_kernel"] == "fa2"
    for extra in ([], ["--search"]):
        bad = CliRunner().invoke(app, [*base, "--attention-kernel", "fa9", *extra])
        assert bad.exit_code == 2
        assert "attention_kernel (--attention-kernel): got 'fa9'; one of auto, fa2, fa3, flat" in bad.output
