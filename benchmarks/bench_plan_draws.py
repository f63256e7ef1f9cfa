"""The plan under uncertainty (``plan --draws N``, two-stage SAA) on ``examples/plan-two-sites-uncertain.yaml``:
model size and time against the number of draws (issue 13: state the largest N that solves in under 10 minutes).

Printed for each N: the variables and constraints of the stochastic programme, the time to draw and prepare the
draws' coefficients, HiGHS's solve of the stochastic plan, and the whole call (which also solves the median
scenario's plan and that plan's build facing the draws). ``BIG`` is measured only when asked
(``python -m benchmarks.bench_plan_draws --big``): it takes minutes.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZES = (50, 200)
BIG = (400, 1000)


def main() -> None:
    from fab2token.plan.stochastic import plan_draws

    path = str(ROOT / "examples" / "plan-two-sites-uncertain.yaml")
    print("plan --draws N on examples/plan-two-sites-uncertain.yaml (2 sites x 24 months, 2 uncertain inputs)")
    for n in SIZES + (BIG if "--big" in sys.argv else ()):
        t0 = time.perf_counter()
        r = plan_draws(path, n, seed=1)
        total = time.perf_counter() - t0
        print(
            f"  N = {n:5d}: {r.status}, {r.variables:,} variables, {r.constraints:,} constraints; draws prepared "
            f"{r.build_s:5.1f} s, stochastic solve {r.solve_s:5.1f} s, whole call {total:6.1f} s "
            f"({total / n * 1e3:.0f} ms a draw)"
        )
    print("  goal (issue 13): the largest N that solves in under 10 minutes, stated (docs/how-to/plan-targets.md)")


if __name__ == "__main__":
    main()
