"""Stage 5, economics: every cost rule, used by the simulation's bills and the planner's objective alike."""
