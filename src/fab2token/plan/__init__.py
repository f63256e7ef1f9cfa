"""The planner: the same physics as a linear programme (linopy + HiGHS), the cheapest build-out, what binds.

:mod:`.data` (coefficients from the shared inputs layer and cost rules), :mod:`.model` (the linopy model),
:mod:`.solve` (solving and the answer's tables), :mod:`.roundtrip` (the plan as a scenario for ``run``).
"""

from __future__ import annotations

from fab2token.plan.roundtrip import plan_to_scenario_data
from fab2token.plan.solve import PLAN_KEYS, PlanResult, plan, plan_bills, simulated_bills

__all__ = ["PLAN_KEYS", "PlanResult", "plan", "plan_bills", "plan_to_scenario_data", "simulated_bills"]
