"""Stage 4, workloads: model architectures (:mod:`.architecture`), training (:mod:`.training`), serving
(:mod:`.inference`) and their scheduling on the installed fleet (:mod:`.schedule`)."""
