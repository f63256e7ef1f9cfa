"""Operations hour by hour: ``operate`` on one year, 20 sites, 50 training runs and inference (the engine's
Dataset given), its wall time; the failure draw in site-hours per second; and the training-first policy's kernel
(runs in order, whole arrays over hours) beside a plain per-hour Python loop of the same policy on the same hours,
failures and runs, measured side by side with the answers checked equal."""

from __future__ import annotations

import numpy as np

from benchmarks.common import paired


def _vectorised(available: np.ndarray, starts: np.ndarray, sizes: np.ndarray, need_h: np.ndarray) -> np.ndarray:
    """Training-first on whole arrays: each run (in order) holds its size from its start while it fits, until it has
    run its hours; returns the accelerators held per hour."""
    hours = available.size
    held = np.zeros(hours)
    idx = np.arange(hours)
    for s, n, h in zip(starts, sizes, need_h, strict=True):  # runs in order; each vectorised over hours
        can = (idx >= s) & (available - held >= n)
        done = np.flatnonzero(np.cumsum(can) >= h)
        end = done[0] if done.size else hours
        held += n * (can & (idx <= end))
    return held


def _loop(available: np.ndarray, starts: np.ndarray, sizes: np.ndarray, need_h: np.ndarray) -> np.ndarray:
    """The same policy, hour by hour and run by run."""
    hours = available.size
    held = np.zeros(hours)
    progress = [0.0] * len(starts)
    finished = [False] * len(starts)
    for t in range(hours):
        free = available[t]
        for k in range(len(starts)):
            if finished[k] or t < starts[k] or free < sizes[k]:
                continue
            free -= sizes[k]
            held[t] += sizes[k]
            progress[k] += 1.0
            if progress[k] >= need_h[k]:
                finished[k] = True
    return held


def main() -> None:
    from fab2token.operations.failures import draw_failures

    rng = np.random.default_rng(0)
    hours, sites, runs = 8760, 20, 50
    installed = np.full((hours, sites), 20_000.0)
    import time

    t0 = time.perf_counter()
    f = draw_failures(installed, 2e-5, 8, 24.0, rng)
    available = (installed - f.down_accelerators).sum(axis=1)
    t1 = time.perf_counter()
    crews = draw_failures(installed, 2e-5, 8, 24.0, np.random.default_rng(0), crews=16, spares=4)
    t2 = time.perf_counter()
    starts = rng.integers(0, hours // 2, runs)
    sizes = rng.choice([1024.0, 4096.0, 16384.0], runs)
    need = rng.integers(200, 2000, runs).astype(float)
    assert np.allclose(_vectorised(available, starts, sizes, need), _loop(available, starts, sizes, need))
    p = paired(
        lambda: _vectorised(available, starts, sizes, need), lambda: _loop(available, starts, sizes, need), rounds=3
    )
    print(
        f"failures for {hours:,} hours x {sites} sites x 20,000 accelerators: {f.count.sum():,} events in "
        f"{(t1 - t0) * 1e3:.1f} ms = {hours * sites / (t1 - t0) / 1e6:.1f} M site-hours/s"
    )
    print(
        f"the same with 16 repair crews and 4 spares per site (the M/M/c recursion, vectorised over sites): "
        f"{crews.count.sum() / (t2 - t1) / 1e6:.2f} M events/s, mean wait {crews.wait_hours.mean():.2f} h"
    )
    print(f"training-first policy, {runs} runs over {hours:,} hours: " + p.text("arrays", "per-hour Python loop"))
    _operate()
    _operate_draws()


def _operate_draws(draws: int = 100) -> None:
    """``operate --draws``: every seed's repair queue at once and the shared power pauses once, against the loop of
    single seeds it replaced (``operate`` per seed), on examples/operations.yaml."""
    from pathlib import Path

    from fab2token.engine.simulate import simulate
    from fab2token.operations.run import operate, operate_draws
    from fab2token.scenario import load_scenario

    sc, _ = load_scenario(Path(__file__).resolve().parents[1] / "examples" / "operations.yaml")
    ops = sc.operations
    assert ops is not None

    def loop() -> None:
        ds = simulate(sc)
        for k in range(draws):
            operate(sc.model_copy(update={"operations": ops.model_copy(update={"seed": ops.seed + k})}), ds)

    p = paired(lambda: operate_draws(sc, draws), loop, rounds=3)
    print(f"operate --draws {draws} on examples/operations.yaml: " + p.text("batched queues", "a loop of seeds"))


def _operate() -> None:
    import copy
    import time
    from pathlib import Path

    import yaml

    from fab2token.engine.simulate import simulate
    from fab2token.operations.run import operate
    from fab2token.scenario import parse_scenario

    data = yaml.safe_load((Path(__file__).resolve().parents[1] / "examples" / "small.yaml").read_text())
    data["horizon"] = {"start": "2027-01", "months": 12}
    site = data["sites"][0]
    data["sites"] = [{**copy.deepcopy(site), "name": f"site-{j}"} for j in range(20)]
    run = data["workloads"]["training"][0]
    data["workloads"]["training"] = [
        {**run, "name": f"run-{k}", "accelerators": 64, "tokens": 2e10, "start": "2027-01"} for k in range(50)
    ]
    data["operations"] = {
        "policy": "inference-first",
        "repair_hours": 24,
        "failure_domain_accelerators": 8,
        "diurnal": [0.6] * 6 + [1.0] * 6 + [1.4] * 6 + [1.0] * 6,
        "random_spikes": {"per_day": 0.5, "hours": 2, "multiplier_median": 1.5, "multiplier_p90": 2.5},
    }
    sc = parse_scenario(yaml.safe_dump(data), "<bench>")
    ds = simulate(sc)
    t0 = time.perf_counter()
    o = operate(sc, ds)
    dt = time.perf_counter() - t0
    finished = sum(r["status"] == "finished" for r in o.runs)
    print(
        f"operate, one year x 20 sites x 50 training runs + inference ({o.hours.size:,} hours, {finished} runs "
        f"finished): {dt:.3f} s (goal: under 1 s), {o.hours.size * 20 / dt / 1e6:.1f} M site-hours/s"
    )
