"""Planner size and speed: 50 sites x 120 months x 4 accelerator types (H100 from the scenario's supply chain;
H200, B200, MI300X as market options) with inference demand and four training targets (LP).

Goal (issue 7): build and solve in under 60 s on 2 cores. Printed: model size, linopy build time, HiGHS solve time,
and their ratio; and (issue 16) the same at 200 sites, its size and time, and the MILP of ten training targets laid
out as the simulator runs them (``--milp``) within a 5-minute limit: its integer variables, status, gap and time,
beside the LP of the same targets.
"""

from __future__ import annotations

import yaml

from fab2token.plan import plan
from fab2token.scenario import parse_scenario

SITES, MONTHS = 50, 120


def _training(runs: int) -> list[dict]:
    """``runs`` training targets of Llama 3.1 405B, each in a window of its own (every other one at a named site);
    four open a year apart, more every seven months."""
    step = 12 if runs <= 4 else 7
    out = []
    for k in range(runs):
        start = 12 + step * k  # months after 2026-01
        out.append(
            {
                "name": f"run{k}",
                "model": "llama-3.1-405b",
                "tokens": 15e12 * (k % 4 + 1),
                "start": f"{2026 + start // 12}-{start % 12 + 1:02d}",
                "deadline": f"{2026 + (start + 23) // 12}-{(start + 23) % 12 + 1:02d}",
                "mfu": 0.4,
                "site": f"s{3 * k:02d}" if k % 2 else None,
            }
        )
    return out


def scenario_text(energy_extras: bool = False, sites: int = SITES, runs: int = 4) -> str:
    data = {
        "name": "bench-plan",
        "horizon": {"start": "2026-01", "months": MONTHS},
        "supply": {
            "accelerator": "H100",
            "wafer_starts": [{"from": "2025-10", "wafers_per_month": 20000}],
            "d0_per_cm2": 0.1,
            "packaging": {
                "capacity_wafers_per_month": [
                    {"from": "2026-01", "wafers_per_month": 6000},
                    {"from": "2028-01", "wafers_per_month": 15000},
                ],
                "interposer_area_mm2": 2000,
            },
            "hbm": {"supply_stacks_per_month": [{"from": "2026-01", "stacks_per_month": 2.0e6}]},
        },
        "sites": [
            {
                "name": f"s{k:02d}",
                "grid_power": [
                    {"from": "2026-01", "mw": 100 + 20 * (k % 7)},
                    {"from": f"{2027 + k % 5}-01", "mw": 300 + 40 * (k % 5)},
                ],
                "cooling": "liquid",
                "pue": 1.1 + 0.01 * (k % 30),
                "land_acres": 100,
                "construction_start": f"{2025 + k % 4}-0{1 + k % 9}",
                "construction_months": 12 + k % 12,
            }
            for k in range(sites)
        ],
        "economics": {
            "accelerator_price_usd": 25000,
            "electricity_usd_per_mwh": 70,
            "datacenter_capex_usd_per_mw": 11.0e6,
        },
        "workloads": {"inference": {"model": "llama-3-70b", "precision": "fp8"}},
        "targets": {
            "inference_demand": [{"from": f"{2026 + y}-01", "tokens_per_s": 2.0e7 * (y + 1) ** 2} for y in range(10)],
            "training": _training(runs),
            "discount_rate_per_year": 0.08,
            "accelerator_options": [
                {"accelerator": name, "price_usd": price, "available": [{"from": "2026-01", "per_month": 20000}]}
                for name, price in (("H200", 32000), ("B200", 40000), ("MI300X", 20000))
            ],
        },
    }
    if energy_extras:  # every fifth site with solar, a PPA and a battery; time-of-use prices
        for k, site in enumerate(data["sites"]):
            if k % 5 == 0:
                site.update(
                    solar_mw=[{"from": "2026-01", "mw": 80}],
                    solar_capacity_factor=0.25,
                    ppa_mw=20,
                    ppa_usd_per_mwh=55,
                    battery_mw=20,
                    battery_mwh=80,
                )
        data["economics"].update(electricity_peak_usd_per_mwh=140, peak_hours=[14, 20])
    return yaml.safe_dump(data, sort_keys=False)


INTEGER_VARIABLES = ("run_active", "run_start", "run_type", "run_accelerators")


def _milp_side_by_side() -> None:
    """Ten training targets (50 sites x 120 months x 4 types): the LP, then the MILP with contiguous runs."""
    sc = parse_scenario(scenario_text(runs=10))
    lp = plan(sc, time_limit_s=300)
    mi = plan(sc, milp=True, time_limit_s=300)
    integers = sum(int(mi.series[name].size) for name in INTEGER_VARIABLES if name in mi.series)
    gap = "n/a" if mi.mip_gap is None else f"{mi.mip_gap:.2e}"
    print(
        f"{SITES} sites x {MONTHS} months, 4 types, 10 training targets: LP {lp.variables:,} variables, status "
        f"{lp.status}, {lp.build_s + lp.solve_s:.1f} s"
    )
    print(
        f"  MILP, runs as the simulator runs them (one type, fixed whole count, unbroken months; limit 300 s): "
        f"{mi.variables:,} variables ({integers:,} integer), {mi.constraints:,} constraints; status {mi.status}, "
        f"gap {gap}, build {mi.build_s:.1f} s, solve {mi.solve_s:.1f} s; cost {mi.objective_usd / lp.objective_usd:.4f}x "
        "the LP's"
    )


def main() -> None:
    sc = parse_scenario(scenario_text())
    res = plan(sc, time_limit_s=120)
    print(
        f"{SITES} sites x {MONTHS} months, 4 accelerator types, 4 training targets, inference demand: "
        f"{res.variables:,} variables, {res.constraints:,} constraints"
    )
    print(
        f"status {res.status}; build (data + linopy) {res.build_s:.2f} s, solve (HiGHS) {res.solve_s:.2f} s, "
        f"total {res.build_s + res.solve_s:.2f} s; build/solve ratio {res.build_s / max(res.solve_s, 1e-9):.2f}"
    )
    print(
        f"objective ${res.objective_usd / 1e9:,.1f} B; {len(res.binding)} binding capacities; unmet targets: "
        f"{len(res.unmet)}"
    )
    for b in res.binding[:3]:
        print("  -", b["text"])
    big = plan(parse_scenario(scenario_text(sites=200)), time_limit_s=300)
    print(
        f"200 sites x {MONTHS} months, the same types and targets: {big.variables:,} variables, "
        f"{big.constraints:,} constraints; status {big.status}; build {big.build_s:.2f} s, solve {big.solve_s:.2f} s, "
        f"total {big.build_s + big.solve_s:.2f} s ({(big.build_s + big.solve_s) / max(res.build_s + res.solve_s, 1e-9):.1f}x the 50-site plan)"
    )
    ext = plan(parse_scenario(scenario_text(energy_extras=True)), time_limit_s=300)
    print(
        f"with solar, a PPA and a battery on every fifth site and time-of-use prices (hour-of-day variables): "
        f"{ext.variables:,} variables, {ext.constraints:,} constraints; status {ext.status}; build "
        f"{ext.build_s:.2f} s, solve {ext.solve_s:.2f} s (ratio to the plain plan {(ext.build_s + ext.solve_s) / max(res.build_s + res.solve_s, 1e-9):.1f}x)"
    )
    _milp_side_by_side()
