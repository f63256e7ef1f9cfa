"""The monthly engine on the bundled example and on a scaled-up scenario (many sites, long horizon)."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from benchmarks.common import best_time
from fab2token.engine.simulate import simulate
from fab2token.scenario import load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    sc, _ = load_scenario(ROOT / "examples" / "small.yaml")
    t = best_time(lambda: simulate(sc), repeat=5)
    print(f"small example: {sc.horizon.months} months x {len(sc.sites)} sites: {t * 1e3:.1f} ms per run")

    data = yaml.safe_load((ROOT / "examples" / "small.yaml").read_text())
    big = copy.deepcopy(data)
    big["horizon"]["months"] = 240
    base = data["sites"][0]
    big["sites"] = [dict(copy.deepcopy(base), name=f"s{i}") for i in range(200)]
    sc_big = parse_scenario(yaml.safe_dump(big))
    t_big = best_time(lambda: simulate(sc_big), repeat=3)
    cells = 240 * 200
    print(
        f"scaled: 240 months x 200 sites = {cells} site-months: {t_big * 1e3:.1f} ms per run, "
        f"{cells / t_big:,.0f} site-months/s; ratio big/small time {t_big / t:.1f}x for {cells / (24 * 2):.0f}x cells"
    )
