"""What the command's own process sets up before any work: xarray told that no dask array will come its way.

xarray checks every array it wraps against ``dask.array.Array`` and, where dask is installed (fab2token's sweeps use
dask.distributed), imports ``dask.array`` to do so on the first Dataset: 0.3-0.4 s of every ``run``, ``plan``,
``show`` or ``report`` on this machine (dask.array pulls in scipy.fft), for a check that never matches, since
fab2token builds its arrays with numpy and never hands xarray a dask array. In the ``fab2token`` command's process
alone, where nothing else can, the check is answered "no dask arrays" when xarray's array-type cache is first built;
importing fab2token as a library changes nothing. Where ``dask.array`` is already imported, or xarray's cache is not
the one this was written against (``xarray.namedarray.pycompat._cached_duck_array_modules``), nothing is changed and
xarray imports dask as before.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from types import ModuleType
from typing import Any

__all__ = ["no_dask_arrays"]

_PYCOMPAT = "xarray.namedarray.pycompat"


def _seed(pycompat: ModuleType) -> None:
    """Put a dask entry with no array type in xarray's cache of duck-array modules (if it is still empty)."""
    cache = getattr(pycompat, "_cached_duck_array_modules", None)
    kind = getattr(pycompat, "DuckArrayModule", None)
    if not isinstance(cache, dict) or kind is None or "dask" in cache or "dask.array" in sys.modules:
        return
    entry = object.__new__(kind)
    entry.module, entry.type, entry.available = None, (), False
    entry.version = pycompat.Version("0.0.0") if hasattr(pycompat, "Version") else None
    cache["dask"] = entry


class _AfterPycompat(importlib.abc.MetaPathFinder):
    """Seeds xarray's cache right after ``xarray.namedarray.pycompat`` is executed, then steps aside."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != _PYCOMPAT:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        loader = getattr(spec, "loader", None)
        run = getattr(loader, "exec_module", None)
        if run is None:
            return spec

        def exec_module(module: ModuleType) -> None:
            run(module)
            _seed(module)

        loader.exec_module = exec_module  # type: ignore[union-attr]
        return spec


def no_dask_arrays() -> None:
    """Tell xarray, once it is imported, that this process hands it no dask arrays (module docstring)."""
    if _PYCOMPAT in sys.modules:
        _seed(sys.modules[_PYCOMPAT])
    elif not any(isinstance(f, _AfterPycompat) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterPycompat())
