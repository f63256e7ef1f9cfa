"""The monthly engine: the stages run in order on one scenario (:mod:`.simulate`), results and summary."""
