"""The planner: the same physics as a linear programme (linopy + HiGHS), the cheapest build-out, what binds."""
