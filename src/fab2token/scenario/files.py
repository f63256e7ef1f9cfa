"""Files a scenario names, read once at the boundary and handed on as data (validation reads them; the engine never
reads them again)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

__all__ = ["TYPICAL_YEAR_HOURS", "read_weather_csv"]

Array = NDArray[np.float64]

TYPICAL_YEAR_HOURS = 8760


def read_weather_csv(path: str | Path) -> Array:
    """A typical year of hourly dry-bulb temperature: a CSV with a ``dry_bulb_c`` column and 8760 data rows
    (1 January 00:00 to 31 December 23:00, a non-leap year). Raises ValueError naming the line, value and what
    was expected."""
    p = Path(path)
    with p.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or "dry_bulb_c" not in reader.fieldnames:
            raise ValueError(f"{p}: header {reader.fieldnames}, expected a 'dry_bulb_c' column")
        values = []
        for lineno, row in enumerate(reader, start=2):
            text = (row.get("dry_bulb_c") or "").strip()
            try:
                v = float(text)
            except ValueError:
                raise ValueError(f"{p} line {lineno}: dry_bulb_c {text!r}, expected a number (°C)") from None
            if not -90.0 <= v <= 65.0:
                raise ValueError(f"{p} line {lineno}: dry_bulb_c {v}, expected an air temperature in -90..65 °C")
            values.append(v)
    if len(values) != TYPICAL_YEAR_HOURS:
        raise ValueError(f"{p}: {len(values)} hourly rows, expected {TYPICAL_YEAR_HOURS} (one non-leap year)")
    return np.array(values)
