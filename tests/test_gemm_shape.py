"""GEMM efficiency by shape (``workloads/gemm_shape.py``): the measured table read back at its own points, the
interpolation between them, saturation beyond the grid, and the training model's GEMMs at their shapes."""

from __future__ import annotations

import csv
from importlib import resources

import numpy as np
import pytest

from fab2token import catalog
from fab2token.workloads.gemm_shape import GemmTable, gemm_table
from fab2token.workloads.perf import Layout, Shape, hardware_from_catalog, layer_times


def _rows(name: str) -> dict[tuple[int, int, int], float]:
    path = resources.files("fab2token.catalog").joinpath("gemm_shapes.csv")
    with path.open(encoding="utf-8", newline="") as f:
        return {
            (int(r["m"]), int(r["n"]), int(r["k"])): float(r["bf16_flop_per_s"])
            for r in csv.DictReader(f)
            if r["name"] == name
        }


def test_every_row_is_sourced_and_the_grid_is_full():
    rows = catalog.table_rows("gemm_shapes")
    assert rows and all(r["source"].startswith("OpenXLA") for r in rows)
    for name in {r["name"] for r in rows}:
        assert catalog.resolve_name("accelerators", name) == name  # each table names a catalog part
        assert len(_rows(name)) == 125  # m, n, k each in 256 .. 4096


def test_the_table_is_read_back_at_its_own_points():
    t, rows = gemm_table("H100-SXM"), _rows("H100-SXM")
    top = rows[(4096, 4096, 4096)]
    for (m, n, k), rate in list(rows.items())[::7]:
        assert float(t.factor(m, n, k)) == pytest.approx(min(rate / top, 1.0), rel=1e-12)


def test_between_points_it_interpolates_in_log_space_and_saturates_beyond():
    t, rows = gemm_table("H100-SXM"), _rows("H100-SXM")
    top = rows[(4096, 4096, 4096)]
    # halfway in log2 m between 1024 and 2048: the geometric mean of the two rates
    mid = float(t.factor(2**10.5, 4096, 4096))
    assert mid == pytest.approx(np.sqrt(rows[(1024, 4096, 4096)] * rows[(2048, 4096, 4096)]) / top, rel=1e-12)
    # beyond the grid: held at the edge (XLA's saturation), so big GEMMs keep the large-shape rate
    assert float(t.factor(65536, 16384, 16384)) == 1.0
    assert float(t.factor(65536, 1024, 16384)) == pytest.approx(min(rows[(4096, 1024, 4096)] / top, 1.0))
    # vectorised and broadcasting, never above 1
    f = t.factor(np.array([256.0, 1024.0, 4096.0]), 4096, np.array([[512.0], [4096.0]]))
    assert f.shape == (2, 3) and np.all((f > 0) & (f <= 1.0))


def test_parts_without_a_table_keep_the_large_shape_rate():
    assert gemm_table("A100-SXM-80GB") is None
    assert hardware_from_catalog(catalog.lookup("accelerators", "A100")).gemm_table is None
    assert hardware_from_catalog(catalog.lookup("accelerators", "H100"), fp8=True).gemm_table is None  # no FP8 table


def test_small_gemms_cost_more_and_large_ones_the_same():
    """A layer's GEMMs on H100 with the table against the same hardware without it: a small model's (hidden 1,024)
    are slower by the table's factors, a large one's (hidden 16,384, no TP) are unchanged."""
    h100 = hardware_from_catalog(catalog.lookup("accelerators", "H100"))
    plain = h100.__class__(**{**h100.__dict__, "gemm_table": None})
    lay = Layout(count=8, tp=1, pp=1, seq_len=4096, global_batch_tokens=2**21, micro_batch=4)

    def gemm(d: float, hw) -> tuple[float, float]:
        shape = Shape(
            layers=24,
            hidden=d,
            heads=d / 128,
            kv_heads=d / 128,
            head_dim=128,
            ffn=4 * d,
            vocab=0,
            params_total=1,
            gated_mlp=0.0,
        )
        t = layer_times(shape, hw, lay)
        return float(t["gemm_forward_s"]), float(t["backward_s"] - t["attention_core_forward_s"] * 2.5)

    small, small_plain = gemm(1024.0, h100), gemm(1024.0, plain)
    assert small[0] > 1.05 * small_plain[0] and small[1] > small_plain[1]
    t = gemm_table("H100-SXM")
    # the forward by hand: QKV, output, up and down projections of 16,384 tokens, each at its own factor
    rate = float(h100.peak_flop_per_s) * float(h100.matmul_efficiency_frac)
    by_hand = sum(
        2 * 16384 * n * k / rate / float(t.factor(16384, n, k))
        for n, k in [(3072, 1024), (1024, 1024), (4096, 1024), (1024, 4096)]
    )
    assert small[0] == pytest.approx(by_hand, rel=1e-12)
    big, big_plain = gemm(16384.0, h100), gemm(16384.0, plain)
    assert big[0] == pytest.approx(big_plain[0], rel=1e-12) and big[1] == pytest.approx(big_plain[1], rel=1e-12)


@pytest.mark.parametrize("moe", [False, True])
@pytest.mark.parametrize(("tp", "ep"), [(1, 1), (4, 1), (2, 8)])
def test_a_flat_table_gives_the_plain_model(moe, tp, ep):
    """With every factor 1 the GEMMs by shape add up to the FLOPs the plain model counts (QKV with GQA, gated MLP,
    routed and shared experts under TP and EP, the router), forward and backward."""
    flat = GemmTable("flat", np.log2([256.0, 4096.0]), np.zeros((2, 2, 2)))
    h100 = hardware_from_catalog(catalog.lookup("accelerators", "H100"))
    plain = h100.__class__(**{**h100.__dict__, "gemm_table": None})
    shaped = h100.__class__(**{**h100.__dict__, "gemm_table": flat})
    extra = dict(experts=64, active_experts=6, shared_experts=2, moe_ffn=1408, dense_layers=1) if moe else {}
    shape = Shape(
        layers=28, hidden=2048, heads=16, kv_heads=4, head_dim=128, ffn=10944, vocab=0, params_total=1, **extra
    )
    lay = Layout(count=64, tp=tp, pp=1, seq_len=4096, global_batch_tokens=2**22, micro_batch=2, ep=ep if moe else 1)
    a, b = layer_times(shape, plain, lay), layer_times(shape, shaped, lay)
    for key in ("gemm_forward_s", "forward_s", "backward_s"):
        assert float(b[key]) == pytest.approx(float(a[key]), rel=1e-12)
