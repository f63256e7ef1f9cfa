"""Every series of a stored run or plan as one tidy table, and that table as CSV, JSON or Parquet bytes.

One row per value: the variable, its units, one column per dimension (empty where the variable lacks it), the
number (``value``) or, for a month-by-month label such as ``binding_constraint``, the text (``label``). The
dashboard's downloads serve these bytes; Parquet is written by DuckDB (no pyarrow needed).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import xarray as xr

__all__ = ["DIMS", "COLUMNS", "FORMATS", "series_table", "table_bytes"]

# every dimension a stored series has (hod: hour of day, of a plan's on-site dispatch)
DIMS = ("run", "accelerator", "site", "month", "hod")
COLUMNS = ("kind", "variable", "units", *DIMS, "value", "label")
# download format -> media type
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "parquet": "application/vnd.apache.parquet",
}
# the SQL type of each column in the Parquet file (an all-empty column would otherwise have no type)
_SQL_TYPES = {"hod": "INTEGER", "value": "DOUBLE"}


def _rows(name: str, da: xr.DataArray, kind: str) -> pd.DataFrame:
    other = [d for d in da.dims if d not in DIMS]
    if other:
        raise ValueError(f"series {name} has dimensions {other} outside {DIMS}")
    if da.ndim == 0:
        df = pd.DataFrame({"_v": [da.values.item()]})
    else:
        df = da.to_dataframe(name="_v").reset_index()[[*da.dims, "_v"]]
    numeric = da.dtype.kind in "fiub"
    out = pd.DataFrame(
        {
            "kind": kind,
            "variable": name,
            "units": str(da.attrs.get("units", "")),
            **{d: (df[d].map(str) if d in df and d != "hod" else df[d] if d in df else None) for d in DIMS},
            "value": df["_v"].astype(float) if numeric else np.nan,
            "label": None if numeric else df["_v"].map(str),
        },
        index=df.index,
    )
    return out


def series_table(arrays: Mapping[str, xr.DataArray] | xr.Dataset, kind: str = "series") -> pd.DataFrame:
    """Every array as tidy rows with the columns :data:`COLUMNS` (``kind`` names the set: ``series``, ``dual``).

    Parameters
    ----------
    arrays
        A run's results Dataset (every data variable) or a plan's arrays by name
        (:func:`fab2token.io.plan_store.load_plan_arrays`).
    kind
        The value of the ``kind`` column.
    """
    items = arrays.data_vars.items() if isinstance(arrays, xr.Dataset) else arrays.items()
    frames = [_rows(str(n), da, kind) for n, da in items]
    if not frames:
        return pd.DataFrame(columns=list(COLUMNS))
    out = pd.concat(frames, ignore_index=True)[list(COLUMNS)]
    for col in ("run", "accelerator", "site", "month", "label"):
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    out["hod"] = pd.array(out["hod"], dtype="Int64")
    return out


def _parquet(df: pd.DataFrame) -> bytes:
    con = duckdb.connect()
    try:
        con.register("_table", df)
        cols = ", ".join(f'CAST("{c}" AS {_SQL_TYPES.get(c, "VARCHAR")}) AS "{c}"' for c in df.columns)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "series.parquet"
            con.execute(
                f"COPY (SELECT {cols} FROM _table) TO '{str(path).replace(chr(39), chr(39) * 2)}' (FORMAT parquet)"
            )
            return path.read_bytes()
    finally:
        con.close()


def table_bytes(df: pd.DataFrame, fmt: str) -> bytes:
    """``df`` written in ``fmt`` (a key of :data:`FORMATS`): CSV with a header, JSON records (empty cells as
    ``null``), or Parquet."""
    if fmt == "csv":
        return df.to_csv(index=False).encode("utf-8")
    if fmt == "json":
        return df.to_json(orient="records").encode("utf-8")
    if fmt == "parquet":
        return _parquet(df)
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
