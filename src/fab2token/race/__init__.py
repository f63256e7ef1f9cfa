"""The compute race: several players contest the world's scarce supply (wafers, packaging, HBM, market
accelerators); :mod:`.allocate` (the rules), :mod:`.world` (the pools), :mod:`.run`, :mod:`.draws`, :mod:`.respond`."""
