"""Stage 3, deploy: accelerators placed into sites within power, space and network limits (:mod:`.placement`)."""
