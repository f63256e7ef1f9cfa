"""The layout search: the layout it returns is the fastest that fits among every allowed one (checked against the
scalar model, one layout at a time), it keeps what the user fixed, it refuses what cannot fit, and train --explain
breaks the step down into parts that sum to it."""

from __future__ import annotations

import itertools
import json

import pytest
from typer.testing import CliRunner

from fab2token.cli.main import app
from fab2token.errors import ModelError
from fab2token.workloads.layout import search_layout
from fab2token.workloads.perf import STEP_PARTS
from fab2token.workloads.training import train


def test_the_search_returns_the_fastest_layout_that_fits():
    """Llama-3-8B on 64 H100 (recompute and ZeRO fixed to keep the scalar check short): every allowed layout (TP, PP,
    micro-batch, interleaving, context parallelism) through the scalar train(), the search's answer is the fastest
    of those that fit, with the same time."""
    fixed = {"recompute": "selective", "zero_stage": 1}
    found = search_layout("llama-3-8b", "H100", 64, seq_len=4096, global_batch_tokens=4 * 2**20, fixed=fixed)
    best, count = None, 0
    grid = itertools.product((1, 2, 4, 8), (1, 2, 4, 8, 16, 32), (1, 2, 4, 8), (1, 2, 4, 8), (1, 2, 4, 8, 16, 32))
    for tp, pp, mb, v, cp in grid:
        n = tp * pp * cp
        if 64 % n or (v > 1 and pp == 1) or pp * v > 32 or 4 * 2**20 / (64 / n * mb * 4096) < 1 or 4096 % (2 * cp):
            continue
        r = train(
            "llama-3-8b",
            1e12,
            "H100",
            64,
            seq_len=4096,
            global_batch_tokens=4 * 2**20,
            tp=tp,
            pp=pp,
            micro_batch=mb,
            virtual_stages=v,
            cp=cp,
            **fixed,
        )
        count += 1
        if r.fits_in_memory and (best is None or r.step_s < best[0] - 1e-12):
            best = (r.step_s, {"tp": tp, "pp": pp, "micro_batch": mb, "virtual_stages": v, "cp": cp})
    assert found["layouts_evaluated"] == count
    assert found["iteration_s"] == pytest.approx(best[0], rel=1e-9)
    assert {k: found["layout"][k] for k in best[1]} == best[1]


def test_fixed_parts_are_kept():
    found = search_layout("llama-3-70b", "H100", 512, fixed={"tp": 4, "recompute": "full"})
    assert found["layout"]["tp"] == 4 and found["layout"]["recompute"] == "full"
    assert found["fixed"] == {"tp": 4, "recompute": "full"}
    assert found["memory_per_accelerator_gb"]["total_gb"] <= 80.0


def test_what_cannot_fit_is_refused_with_the_least_memory_found():
    with pytest.raises(ModelError, match="fits in 80 GB: the least memory"):
        search_layout("llama-3.1-405b", "A100", 8)
    with pytest.raises(ModelError, match="no layout"):
        search_layout("llama-3-70b", "H100", 64, fixed={"tp": 3})


def test_train_search_and_explain_on_the_command_line():
    args = ["train", "-m", "llama-3-70b", "--tokens", "1e12", "-a", "H100", "-n", "1024"]
    r = CliRunner().invoke(app, [*args, "--search", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    lay = d["layout_search"]["layout"]
    assert lay["tp"] * lay["cp"] * lay["pp"] * lay["dp"] == 1024
    assert d["step_s"] == pytest.approx(d["layout_search"]["iteration_s"], rel=1e-9)
    assert sum(d["step_breakdown_s"].values()) == pytest.approx(d["step_s"], rel=1e-9)
    assert tuple(d["step_breakdown_s"]) == STEP_PARTS
    r = CliRunner().invoke(app, [*args, "--explain"])
    assert r.exit_code == 0 and "one step" in r.output and "dp comm exposed" in r.output
    r = CliRunner().invoke(app, [*args, "--mfu", "0.4", "--explain"])
    assert r.exit_code == 0 and "no breakdown" in r.output
    r = CliRunner().invoke(
        app, ["train", "-m", "llama-3.1-405b", "--tokens", "1e12", "-a", "A100", "-n", "8", "--search"]
    )
    assert r.exit_code == 2 and "least memory" in r.output


def test_a_scenario_training_run_may_search_its_layout():
    """workloads.training[].layout: search runs the search for the run's model, type and size: the run takes the
    searched layout's MFU (never slower than the given TP 8, PP 1) and reports the layout."""
    import copy

    import yaml

    from fab2token.engine.simulate import simulate, summarise
    from fab2token.scenario import parse_scenario
    from tests.conftest import EXAMPLES

    data = yaml.safe_load((EXAMPLES / "small.yaml").read_text())
    run = data["workloads"]["training"][0]
    run.pop("mfu")
    given = summarise(simulate(parse_scenario(yaml.safe_dump(data), "<t>"))).training_runs[0]
    searched_data = copy.deepcopy(data)
    searched_data["workloads"]["training"][0]["layout"] = "search"
    searched = summarise(simulate(parse_scenario(yaml.safe_dump(searched_data), "<t>"))).training_runs[0]
    found = search_layout(run["model"], "H100", run["accelerators"])
    assert searched["layout"] == found["layout"]
    assert searched["mfu"] == pytest.approx(found["mfu"], rel=1e-9)
    fits = train(run["model"], 1e12, "H100", run["accelerators"], tp=8, pp=1).fits_in_memory
    assert fits and searched["mfu"] >= given["mfu"] - 1e-12  # the given layout fits, so the search is no slower


def test_expert_parallelism_splits_the_experts_and_pays_an_all_to_all():
    """DeepSeek-V3 (256 routed experts) on 2,048 H100 at TP 8, PP 16: with EP 8 each rank holds 1/8 of the routed
    experts' weights (the rest unchanged), and the step gains the dispatch/combine all-to-all (on the scale-out
    network: TP x EP = 64 exceeds an 8-GPU domain); a dense model has nothing to split."""
    from fab2token.errors import OptionError
    from fab2token.workloads.architecture import model_spec
    from fab2token.workloads.perf import routed_expert_params, shape_from_spec

    m = model_spec("deepseek-v3")
    experts = float(routed_expert_params(shape_from_spec(m)))
    assert 0.9 * m["params_total"] < experts < m["params_total"]  # almost all of it is routed experts
    args = ("deepseek-v3", 1e12, "H100", 2048)
    one = train(*args, tp=8, pp=16)
    eight = train(*args, tp=8, pp=16, ep=8)
    w1, w8 = one.memory_per_accelerator_gb["weights_gb"], eight.memory_per_accelerator_gb["weights_gb"]
    held = (m["params_total"] - experts * 7 / 8) / (8 * 16) * 2 / 1e9
    assert w8 == pytest.approx(held, rel=1e-9) and w1 == pytest.approx(m["params_total"] / 128 * 2 / 1e9, rel=1e-9)
    assert one.step_breakdown_s["ep_comm_s"] == 0.0 and eight.step_breakdown_s["ep_comm_s"] > 0.0
    assert sum(eight.step_breakdown_s.values()) == pytest.approx(eight.step_s, rel=1e-9)
    with pytest.raises(OptionError, match="dense model"):
        train("llama-3-70b", 1e12, "H100", 64, ep=2)
    with pytest.raises(OptionError, match="a divisor of the data-parallel degree 16"):
        train(*args, tp=8, pp=16, ep=32)
    with pytest.raises(OptionError, match="routed experts"):
        train(*args, tp=8, pp=16, ep=3)


def test_the_search_weighs_expert_parallelism():
    fixed_one = search_layout("deepseek-v3", "H100", 2048, fixed={"ep": 1})
    free = search_layout("deepseek-v3", "H100", 2048)
    assert free["layouts_evaluated"] > fixed_one["layouts_evaluated"]
    assert free["iteration_s"] <= fixed_one["iteration_s"] + 1e-12
    assert search_layout("llama-3-8b", "H100", 64)["layout"]["ep"] == 1  # dense: never split


def test_any_precision_compares_bf16_and_fp8_where_the_part_has_it():
    """precision any: the faster of BF16 (mixed-adam) and FP8 (fp8-adam), each the same answer as its own search; an
    accelerator without FP8 (A100) is searched in BF16 only; train --precision any needs --search."""
    from fab2token.workloads.layout import search_any_precision

    best = search_any_precision("llama-3-70b", "H100", 1024)
    each = {
        p: search_layout("llama-3-70b", "H100", 1024, recipe=r, precision=p)
        for p, r in (("bf16", "mixed-adam"), ("fp8", "fp8-adam"))
    }
    assert best["iteration_s_by_precision"] == {p: r["iteration_s"] for p, r in each.items()}
    faster = min(each, key=lambda p: each[p]["iteration_s"])
    assert best["precision"] == faster and best["layout"] == each[faster]["layout"]
    assert set(search_any_precision("llama-3-70b", "A100", 1024)["iteration_s_by_precision"]) == {"bf16"}
    args = ["train", "-m", "llama-3-70b", "--tokens", "1e12", "-a", "H100", "-n", "1024", "--precision", "any"]
    r = CliRunner().invoke(app, [*args, "--search", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["step_s"] == pytest.approx(d["layout_search"]["iteration_s"], rel=1e-9)
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 2 and "only with --search" in r.output
