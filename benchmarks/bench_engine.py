"""The monthly engine on the bundled example, on a scaled-up scenario (many sites, long horizon), and a fleet of one
vs four accelerator types on 100 sites x 120 months (paired runs)."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from benchmarks.common import best_time
from fab2token.engine.simulate import simulate
from fab2token.scenario import load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[1]


def single_main() -> None:
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


def fleet_scenarios() -> tuple[object, object]:
    """100 sites x 120 months: the own H100 chain alone, and with three more types (H200 and B200 on the market,
    an MI300X installed base retiring) — the same sites, power and supply."""
    data = yaml.safe_load((ROOT / "examples" / "small.yaml").read_text())
    data["horizon"]["months"] = 120
    base = data["sites"][0]
    data["sites"] = [dict(copy.deepcopy(base), name=f"s{i}") for i in range(100)]
    data["supply"]["fab"]["wafer_starts"] = [{"from": "2025-10", "wafers_per_month": 2000}]
    data["supply"].pop("packaging", None)
    data["supply"].pop("hbm", None)
    one = parse_scenario(yaml.safe_dump(data))
    data["fleet"] = [
        {"accelerator": "H200", "market": {"price_usd": 30000, "orders": [{"from": "2026-01", "per_month": 3000}]}},
        {
            "accelerator": "B200",
            "market": {"price_usd": 40000, "lead_time_months": 3, "orders": [{"from": "2026-06", "per_month": 4000}]},
            "useful_life_years": 5,
        },
        {
            "accelerator": "MI300X",
            "installed": [{"site": f"s{i}", "count": 200, "since": "2024-01"} for i in range(100)],
            "useful_life_years": 4,
            "price_usd": 15000,
        },
    ]
    return one, parse_scenario(yaml.safe_dump(data))


def fleet_main() -> None:
    import statistics
    import time

    one, four = fleet_scenarios()
    times: dict[str, list[float]] = {"1 type": [], "4 types": []}
    for _ in range(3):  # side by side: A B A B A B
        for label, sc in (("1 type", one), ("4 types", four)):
            t0 = time.perf_counter()
            simulate(sc)
            times[label].append(time.perf_counter() - t0)
    a, b = (statistics.median(times[k]) for k in ("1 type", "4 types"))
    for label, ts in times.items():
        print(
            f"fleet: 100 sites x 120 months, {label}: median {statistics.median(ts):.2f} s (range {min(ts):.2f}-{max(ts):.2f})"
        )
    print(f"fleet: 4 types / 1 type = {b / a:.2f}x (median of paired runs)")


def main() -> None:
    single_main()
    fleet_main()
