"""Sweeps: a scenario's uncertain inputs drawn, the engine run on every draw, P10/P50/P90 and what drives the
spread (:mod:`.draws`, :mod:`.outcomes`, :mod:`.execute`, :mod:`.stats`)."""
