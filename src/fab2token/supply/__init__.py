"""Stage 1, supply: dies per wafer and yield (:mod:`.dies`), the monthly chip-factory chain of wafers, packaging and
HBM (:mod:`.chain`), and the factory floor as a discrete-event simulation (:mod:`.fabline`)."""
