"""Results out: the DuckDB store (:mod:`.store`) and the offline HTML report (:mod:`.report`)."""
