"""The fab line's event loop in C++ (``kernel.cpp``), loaded with :mod:`ctypes`: the model packed into flat typed
arrays, one call runs the whole simulation, the results come back as arrays and are unpacked into exactly what the
plain Python kernel (:func:`fab2token.supply.fabline.kernel.run`) returns, bit for bit.

``python -m fab2token.supply.fabline.build`` compiles ``kernel.cpp`` into ``_kernel_native.so`` beside it (a C ABI,
no Python headers; any C++17 compiler). :func:`load` gives the library only while it was built from the current
``kernel.cpp`` (a SHA-256 stamp compiled in), so an edited source never runs stale code. The named dispatch rules
run here; a key function of the caller's own runs in plain Python.
"""

from __future__ import annotations

import ctypes as C
import hashlib
import random
import threading
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from fab2token.supply.fabline.loader import FabModel
from fab2token.supply.fabline.totals import summaries

__all__ = ["RULES", "SOURCE", "SOURCES", "LIBRARY", "source_sha256", "load", "run"]

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "kernel.cpp"
SOURCES = (SOURCE, HERE / "kernel.h")
LIBRARY = HERE / "_kernel_native.so"
RULES = {"fifo": 0, "edd": 1, "spt": 2, "cr": 3}
"""The dispatch rules the C++ loop knows, by the code it takes."""

_I, _D = C.POINTER(C.c_int64), C.POINTER(C.c_double)
_PROGRESS = C.CFUNCTYPE(C.c_int, C.c_double)
_FIELDS = (
    [(n, C.c_int64) for n in ("nf", "nt", "nroutes", "ns", "norders", "nwip", "ngroups", "nnames")]
    + [(n, C.c_double) for n in ("horizon", "transport_lo", "transport_span")]
    + [(n, C.c_int64) for n in ("rule", "downs_per_group", "preempt")]
    + [(n, _I) for n in ("f_tools", "f_batching", "f_has_setups", "f_has_down", "f_pm_off")]
    + [(n, _D) for n in ("f_load", "f_mttf", "f_mttr")]
    + [("pm_by_pieces", _I)]
    + [(n, _D) for n in ("pm_first", "pm_every", "pm_mean", "pm_hw")]
    + [(n, _I) for n in ("r_off", "s_fam", "s_per", "s_bmin", "s_bmax", "s_setup", "s_rwk")]
    + [(n, _D) for n in ("s_lo", "s_span", "s_stime", "s_pint", "s_bint", "s_samp", "s_rwkp", "s_remaining")]
    + [("matrix", _D), ("g_mttf", _D), ("g_mttr", _D), ("g_off", _I), ("g_tools", _I)]
    + [(n, _I) for n in ("o_route", "o_prio", "o_pieces", "o_count", "o_name")]
    + [(n, _D) for n in ("o_start", "o_interval", "o_due_offset")]
    + [(n, _I) for n in ("w_route", "w_step", "w_prio", "w_pieces", "w_name")]
    + [("w_due", _D), ("mt_state", C.POINTER(C.c_uint32)), ("mt_index", C.c_int64), ("progress", _PROGRESS)]
)


class _FabIn(C.Structure):
    _fields_ = _FIELDS


def source_sha256() -> str:
    """SHA-256 of the C++ sources (``kernel.cpp`` then ``kernel.h``), the stamp a build carries."""
    return hashlib.sha256(b"".join(p.read_bytes() for p in SOURCES)).hexdigest()


@cache
def _library(path: str, stamp: str) -> C.CDLL | None:
    try:
        lib = C.CDLL(path)
    except OSError:
        return None
    lib.fab_source_sha256.restype = C.c_char_p
    if lib.fab_source_sha256().decode() != stamp:
        return None
    lib.fab_run.restype = C.c_void_p
    lib.fab_run.argtypes = [C.POINTER(_FabIn)]
    lib.fab_error.restype = C.c_char_p
    lib.fab_error.argtypes = [C.c_void_p]
    lib.fab_len.restype = C.c_int64
    lib.fab_len.argtypes = [C.c_void_p, C.c_int]
    lib.fab_data.restype = C.c_void_p
    lib.fab_data.argtypes = [C.c_void_p, C.c_int]
    lib.fab_free.argtypes = [C.c_void_p]
    return lib


def load() -> C.CDLL | None:
    """The compiled library if it is built and current, else None."""
    if not LIBRARY.exists() or not all(p.exists() for p in SOURCES):
        return None
    return _library(str(LIBRARY), source_sha256())


def _arrays(model: FabModel, days: float, seed: int, downs_per: str) -> dict[str, np.ndarray]:
    """The model as the typed arrays ``FabIn`` points to, each value computed as the Python kernel computes it."""
    fams, routes = model.families, model.routes
    steps = [s for r in routes for s in r]
    has_setups = np.zeros(len(fams), dtype=np.int64)
    for s in steps:
        if s.setup >= 0:
            has_setups[s.family] = 1
    remaining = []
    for r in routes:  # as kernel.run: mean work from each step to the end, per lot of 25 wafers
        work = [(s.pt_mean_min * (25 if s.per == 0 and s.part_interval_min == 0 else 1)) for s in r]
        remaining += list(np.cumsum(work[::-1])[::-1])
    ns = len(model.setup_names)
    matrix = np.full((ns + 1, ns), np.nan)
    for (a, b), v in model.setup_matrix.items():
        matrix[a + 1, b] = v
    downs = model.downs
    t_fam = [fi for fi, f in enumerate(fams) for _ in range(f.tools)]
    groups = sorted({fams[fi].group for fi in t_fam if fams[fi].group in downs})
    group_tools = [[t for t, fi in enumerate(t_fam) if fams[fi].group == g] for g in groups]
    pms = sorted(range(len(model.pms)), key=lambda j: model.pms[j].family)  # stable: each family's in list order
    names = list(dict.fromkeys([o.name for o in model.orders] + ["WIP"]))
    order_name = {(o.route, o.priority): o.name for o in model.orders}
    state = random.Random(seed).getstate()[1]
    i, d = np.int64, np.float64

    def col(values: Any, dtype: Any) -> np.ndarray:
        return np.ascontiguousarray(np.asarray(values, dtype=dtype).reshape(-1))

    hw = [(s.pt_mean_min - s.pt_halfwidth_min, s.pt_mean_min + s.pt_halfwidth_min) for s in steps]
    return {
        "f_tools": col([f.tools for f in fams], i),
        "f_batching": col([f.batching for f in fams], i),
        "f_has_setups": col(has_setups, i),
        "f_has_down": col([f.group in downs for f in fams], i),
        "f_pm_off": col(np.searchsorted([model.pms[j].family for j in pms], np.arange(len(fams) + 1)), i),
        "f_load": col([f.load_min + f.unload_min for f in fams], d),
        "f_mttf": col([downs[f.group][0] if f.group in downs else 0.0 for f in fams], d),
        "f_mttr": col([downs[f.group][1] if f.group in downs else 0.0 for f in fams], d),
        "pm_by_pieces": col([model.pms[j].by_pieces for j in pms], i),
        **{f"pm_{k}": col([getattr(model.pms[j], a) for j in pms], d) for k, a in _PM_FIELDS},
        "r_off": col(np.concatenate([[0], np.cumsum([len(r) for r in routes])]), i),
        **{k: col([getattr(s, a) for s in steps], i) for k, a in _STEP_INTS},
        "s_lo": col([lo for lo, _ in hw], d),
        "s_span": col([hi - lo for lo, hi in hw], d),
        **{k: col([getattr(s, a) for s in steps], d) for k, a in _STEP_FLOATS},
        "s_remaining": col(remaining, d),
        "matrix": col(matrix, d),
        "g_mttf": col([downs[g][0] for g in groups], d),
        "g_mttr": col([downs[g][1] for g in groups], d),
        "g_off": col(np.concatenate([[0], np.cumsum([len(t) for t in group_tools])]), i),
        "g_tools": col([t for ts in group_tools for t in ts], i),
        **{f"o_{k}": col([getattr(o, a) for o in model.orders], i) for k, a in _ORDER_INTS},
        "o_name": col([names.index(o.name) for o in model.orders], i),
        **{f"o_{k}": col([getattr(o, a) for o in model.orders], d) for k, a in _ORDER_FLOATS},
        **{f"w_{k}": col([getattr(w, a) for w in model.wip], i) for k, a in _WIP_INTS},
        "w_name": col([names.index(order_name.get((w.route, w.priority), "WIP")) for w in model.wip], i),
        "w_due": col([w.due_min for w in model.wip], d),
        "mt_state": col(state[:624], np.uint32),
        "_mt_index": col([state[624]], i),
        "_names": np.array(names, dtype=object),
    }


_PM_FIELDS = (("first", "first"), ("every", "every"), ("mean", "mean_min"), ("hw", "halfwidth_min"))
_STEP_INTS = (
    ("s_fam", "family"),
    ("s_per", "per"),
    ("s_bmin", "batch_min"),
    ("s_bmax", "batch_max"),
    ("s_setup", "setup"),
    ("s_rwk", "rework_step"),
)
_STEP_FLOATS = (
    ("s_stime", "setup_min"),
    ("s_pint", "part_interval_min"),
    ("s_bint", "batch_interval_min"),
    ("s_samp", "sample_frac"),
    ("s_rwkp", "rework_frac"),
)
_ORDER_INTS = (("route", "route"), ("prio", "priority"), ("pieces", "pieces"), ("count", "count"))
_WIP_INTS = (("route", "route"), ("step", "step"), ("prio", "priority"), ("pieces", "pieces"))
_ORDER_FLOATS = (("start", "start_min"), ("interval", "interval_min"), ("due_offset", "due_offset_min"))


def run(
    model: FabModel,
    days: float,
    rule: str,
    seed: int,
    progress: Callable[[float], None] | None,
    downs_per: str,
    preempt: bool = True,
) -> dict[str, Any]:
    """As :func:`fab2token.supply.fabline.kernel.run`, for a named rule (:data:`RULES`); needs :func:`load`."""
    lib = load()
    if lib is None:
        raise RuntimeError("the compiled fab line kernel is not built: run `python -m fab2token.supply.fabline.build`")
    a = _arrays(model, days, seed, downs_per)
    raised: list[BaseException] = []
    stop = threading.Event()

    def day_call(day: float) -> int:
        """Once a simulated day, on the loop's thread: the progress bar; a nonzero return stops the loop (the caller
        was interrupted, or the progress bar raised: re-raised once the loop has returned)."""
        try:
            if progress is not None:
                progress(day)
        except BaseException as exc:  # noqa: BLE001  re-raised on the caller's thread
            raised.append(exc)
            return 1
        return int(stop.is_set())

    fields: dict[str, Any] = {
        "nf": len(model.families),
        "nt": int(a["f_tools"].sum()),
        "nroutes": len(model.routes),
        "ns": len(model.setup_names),
        "norders": len(model.orders),
        "nwip": len(model.wip),
        "ngroups": a["g_mttf"].size,
        "nnames": a["_names"].size,
        "horizon": days * 1440.0,
        "transport_lo": model.transport_min[0] - model.transport_min[1],
        "transport_span": 2.0 * model.transport_min[1],
        "rule": RULES[rule],
        "downs_per_group": int(downs_per == "group"),
        "preempt": int(bool(preempt)),
        "mt_index": int(a["_mt_index"][0]),
        "progress": _PROGRESS(day_call),
    }
    for name, kind in _FIELDS:
        if name not in fields:
            fields[name] = a[name].ctypes.data_as(kind)
    args = _FabIn(**fields)
    # the loop runs on its own thread (ctypes lets go of the interpreter during the call), so that Ctrl-C or an
    # alarm reaches the caller's thread at once: it stops the loop at the next simulated day and is raised here
    handles: list[int] = []
    done = threading.Event()  # not Thread.join: an interrupted join can leave the thread reported as stopped

    def call() -> None:
        try:
            handles.append(lib.fab_run(C.byref(args)))
        finally:
            done.set()

    threading.Thread(target=call, daemon=True).start()
    try:
        done.wait()
    except BaseException:
        stop.set()
        done.wait()
        if handles:
            lib.fab_free(handles[0])
        raise
    handle = handles[0]
    try:
        if raised:
            raise raised[0]
        error = lib.fab_error(handle).decode()
        if error:
            raise RuntimeError(f"fab line kernel: {error}")
        out = [_take(lib, handle, k) for k in range(13)]
    finally:
        lib.fab_free(handle)
    return _unpack(model, a["_names"], out)


def _take(lib: C.CDLL, handle: int, which: int) -> np.ndarray:
    n = lib.fab_len(handle, which)
    dtype = np.int64 if which in (0, 1, 5, 6, 11) else np.float64
    if n == 0:
        return np.zeros(0, dtype=dtype)
    buf = (C.c_char * (n * 8)).from_address(lib.fab_data(handle, which))
    return np.frombuffer(buf, dtype=dtype, count=n).copy()


def _unpack(model: FabModel, names: np.ndarray, out: list[np.ndarray]) -> dict[str, Any]:
    name, prio, release, finish, due, pieces, wip, busy, down, qtime, setup, released, scalars = out
    completed = list(
        zip(
            names[name].tolist(),
            prio.tolist(),
            release.tolist(),
            finish.tolist(),
            due.tolist(),
            pieces.tolist(),
            strict=True,
        )
    )
    counts = dict(zip(names.tolist(), released.tolist(), strict=True))
    processed, end = int(scalars[0]), float(scalars[1])
    return {
        "completed": completed,
        "wip_by_day": wip.tolist(),
        **summaries(model.families, busy.tolist(), down.tolist(), qtime.tolist(), setup.tolist(), end),
        "events_processed": processed,
        "released": {o.name: counts[o.name] for o in model.orders},
    }
