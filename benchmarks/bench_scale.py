"""``run`` at scale: peak memory and wall time of a whole run (parse, simulate, store) at many sites x long horizons.

Goals (issues 12 and 17): 500 sites x 120 months under 600 MB peak RSS (and under 3 s), 1,000 sites x 240 months
under ~2 GB. Each size runs in its own process (a fresh interpreter, so ``ru_maxrss`` is that run's peak), the
imports measured apart. The sites are the two of ``examples/small.yaml`` repeated with distinct names, the
climate-driven one cycling through the catalog's regions; ``full`` adds, on every site, what the hourly engine can
do: solar, a battery, a PPA, a wet-bulb WUE and a curtailment event each summer. Printed, not asserted.

``python -m benchmarks.bench_scale`` prints the table; ``python -m benchmarks.bench_scale SITES MONTHS [full]``
measures one size.
"""

from __future__ import annotations

import copy
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SIZES = ((500, 120, "plain"), (1000, 240, "plain"), (500, 120, "full"), (1000, 240, "full"))


def scenario_data(n_sites: int, months: int, full: bool = False) -> dict:
    """``examples/small.yaml`` with ``n_sites`` sites (its two repeated, distinct names) over ``months`` months."""
    from fab2token.sites.climate import climate_regions

    data = yaml.safe_load((ROOT / "examples" / "small.yaml").read_text())
    data["horizon"]["months"] = months
    regions = climate_regions()
    sites = []
    for k in range(n_sites):
        s = copy.deepcopy(data["sites"][k % 2])
        s["name"] = f"site-{k:05d}"
        if "climate" in s:
            s["climate"] = regions[(k // 2) % len(regions)]
        if full:
            s.update(
                solar_mw=[{"from": "2026-01", "mw": 10}],
                battery_mw=5,
                battery_mwh=20,
                ppa_mw=5,
                ppa_usd_per_mwh=60,
                wue_per_degree_c=0.05,
                wue_reference_wet_bulb_c=15,
                curtailments=[
                    {"start": f"{2026 + y}-07-15 14:00", "hours": 4, "mw": 5, "credit_usd_per_mwh": 300}
                    for y in range(0, months // 12, 3)
                ],
            )
            if "climate" not in s:
                s["dew_point_c"] = [5.0] * 12
                s["ambient_c"] = [10.0 + 10.0 * ((m % 12) in (5, 6, 7)) for m in range(12)]
        sites.append(s)
    data["sites"] = sites
    if full:
        data["economics"]["electricity_peak_usd_per_mwh"] = 150
        data["economics"]["peak_hours"] = [14, 20]
    return data


def _peak_mb() -> float:
    """Peak RSS of this process [MB]: VmHWM where /proc has it (ru_maxrss keeps the parent's peak across exec)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


def measure(n_sites: int, months: int, full: bool) -> dict[str, float]:
    """One run in this process: wall times and peak RSS after imports, after simulate and after the store."""
    from fab2token.api import run_file
    from fab2token.engine.simulate import simulate
    from fab2token.scenario import load_scenario

    imports_mb = _peak_mb()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scale.yaml"
        path.write_text(yaml.safe_dump(scenario_data(n_sites, months, full)))
        t0 = time.perf_counter()
        if os.environ.get("FAB2TOKEN_BENCH_SIMULATE_ONLY"):
            simulate(load_scenario(path)[0])
        else:
            run_file(path, db=Path(tmp) / "runs.duckdb")
        wall = time.perf_counter() - t0
    return {"wall_s": wall, "peak_mb": _peak_mb(), "imports_mb": imports_mb}


def run_child(n_sites: int, months: int, variant: str) -> dict[str, float] | str:
    """:func:`measure` in a fresh interpreter (its own peak RSS); the error's last line if the run failed."""
    cmd = [sys.executable, "-m", "benchmarks.bench_scale", str(n_sites), str(months), variant, "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        return (out.stderr.strip().splitlines() or [f"exit {out.returncode}"])[-1]
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    print(f"run (parse + simulate + store) per size, each in a fresh process, on {os.cpu_count()} cores")
    for n, m, variant in SIZES:
        r = run_child(n, m, variant)
        label = f"  {n:>5} sites x {m:>3} months ({variant:>5})"
        if isinstance(r, str):
            print(f"{label}: {r}")
        else:
            print(
                f"{label}: {r['wall_s']:6.2f} s, peak RSS {r['peak_mb']:7.0f} MB "
                f"(imports {r['imports_mb']:.0f} MB; goals: 500 x 120 under 600 MB, 1000 x 240 under ~2 GB)"
            )
    report_size()


def report_size(n_sites: int = 500, months: int = 120) -> None:
    """The report of a run at ``n_sites`` sites: its size, and how much of it is plotly.js (the same in every
    report); issue 17's goal is a 500-site report under 3 MB."""
    import re

    with tempfile.TemporaryDirectory() as tmp:
        path, page = Path(tmp) / "scale.yaml", Path(tmp) / "report.html"
        path.write_text(yaml.safe_dump(scenario_data(n_sites, months)))
        exe = str(Path(sys.executable).parent / "fab2token")
        t0 = time.perf_counter()
        cmd = [exe, "run", str(path), "--db", str(Path(tmp) / "r.duckdb"), "--report", str(page)]
        subprocess.run(cmd, check=True, capture_output=True)
        wall = time.perf_counter() - t0
        text = page.read_text(encoding="utf-8")
    js = max((len(x) for x in re.findall(r"<script[^>]*>(.*?)</script>", text, re.S)), default=0)
    print(
        f"  report of {n_sites} sites x {months} months: {len(text) / 1e6:.1f} MB, of which plotly.js (compressed) "
        f"{js / 1e6:.1f} MB and the charts and tables {(len(text) - js) / 1e6:.2f} MB; run + report {wall:.1f} s "
        "whole-process (goal: under 3 MB)"
    )


if __name__ == "__main__":
    if len(sys.argv) >= 3:
        res = measure(int(sys.argv[1]), int(sys.argv[2]), len(sys.argv) > 3 and sys.argv[3] == "full")
        print(json.dumps(res) if "--json" in sys.argv else res)
    else:
        main()
