"""Running a sweep: draws in chunks, on the local executor or a dask.distributed cluster, each chunk stored as it
finishes.

The draws ``0 .. N-1`` are cut into chunks of ``chunk_draws``; a chunk is one task (:func:`simulate_chunk`), the
same function whichever executor runs it, so a seed gives the same results locally, on a ``LocalCluster``
(``workers``) or on a running scheduler (``scheduler``, e.g. ``tcp://host:8786``: the same command on many
machines). The parent process commits each finished chunk in one transaction (:func:`~fab2token.io.sweep_store.
save_chunk`); ``resume`` reads the sweep's stored scenario text, seed and chunking, redraws the same inputs and
computes only the chunks not stored yet.

A chunk is one batch of the engine (:func:`fab2token.engine.batch.run_batch`): every stage that months and hours
multiply runs once on all the chunk's draws, with a leading ``draw`` dimension. What still runs draw by draw is
what reads a scenario: validating each draw (every check ``validate`` makes), resolving its inputs layer and its
workload schedule. The sampling (every input's draws at once, the copula as one matrix product) and the statistics
are vectorised too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fab2token.errors import Fab2TokenError, clip
from fab2token.options import Choice, Number, check_options, refuse
from fab2token.scenario.draws import SweepScenario, draw_scenario, draw_values, read_sweep_scenario, sobol_design
from fab2token.sweep.outcomes import ChunkResult, batch_outcomes, join_chunks

__all__ = [
    "SweepRun",
    "run_sweep",
    "simulate_chunk",
    "chunk_bounds",
    "sweep_values",
    "DEFAULT_CHUNK_DRAWS",
    "default_chunk_draws",
]

DEFAULT_CHUNK_DRAWS = 50  # the fewest draws a default chunk holds
# a default chunk's size in draw x site-months: about a second of engine and validation work on this project's 2-core
# machine (examples/uncertain.yaml runs ~1,700 draws of 48 site-months a second, bench_sweep), so a kill loses at
# most about that, while each chunk's transaction (~0.05 s to open, check and commit the store) stays a small share
CHUNK_SITE_MONTHS = 48_000
MAX_CHUNK_DRAWS = 2_000


def default_chunk_draws(site_months: int, draws: int, workers: int | None = None, remote: bool = False) -> int:
    """Draws per chunk when none is given: about :data:`CHUNK_SITE_MONTHS` of work, between
    :data:`DEFAULT_CHUNK_DRAWS` and :data:`MAX_CHUNK_DRAWS`; on a LocalCluster of ``workers`` processes, small
    enough that each has at least four chunks to run; on a ``remote`` scheduler, whose size is not known when the
    sweep is prepared, :data:`DEFAULT_CHUNK_DRAWS` (as many tasks as any cluster can spread)."""
    if remote:
        return DEFAULT_CHUNK_DRAWS
    size = min(MAX_CHUNK_DRAWS, max(DEFAULT_CHUNK_DRAWS, CHUNK_SITE_MONTHS // max(site_months, 1)))
    if workers:
        size = min(size, max(DEFAULT_CHUNK_DRAWS, -(-draws // (4 * workers))))
    return int(size)


MAX_DRAWS = 10_000_000
# draw x site x months in one batch of the engine: its (draw, month, site) results are ~60 arrays of this many
# numbers (~50 MB each at this bound), so a chunk of a 1,000-site, 20-year scenario runs a few draws at a time
BATCH_CELLS = 600_000


@dataclass(frozen=True)
class SweepRun:
    """What :func:`run_sweep` did: the sweep's id, its draws, the chunks computed now and the ones found stored."""

    sweep_id: str
    draws: int
    chunks_computed: int
    chunks_stored_before: int


def simulate_chunk(ss: SweepScenario, values: dict[str, np.ndarray], first: int) -> ChunkResult:
    """The engine on draws ``first .. first + n - 1`` (``values``: each input's ``n`` draws): each draw's scenario
    validated, then every stage on many draws at once (:func:`~fab2token.engine.batch.run_batch`), in batches of at
    most :data:`BATCH_CELLS` draw x site x months (a large scenario's chunk runs as several batches, so its memory
    stays bounded; the results do not depend on the batching, bit for bit)."""
    from fab2token.engine.batch import run_batch
    from fab2token.engine.variables import batch_variables

    n = len(next(iter(values.values())))
    scs = [draw_scenario(ss, draw_values(values, k), first + k) for k in range(n)]  # validation, draw by draw
    cells = max(1, len(scs[0].sites) * scs[0].horizon.months)
    per_batch = max(1, BATCH_CELLS // cells)
    parts = []
    for a in range(0, n, per_batch):  # one batch for small scenarios; a few for large ones
        b = run_batch(scs[a : a + per_batch])
        parts.append(batch_outcomes(b, batch_variables(b), first + a))
    return parts[0] if len(parts) == 1 else join_chunks(parts)


def chunk_bounds(draws: int, chunk_draws: int) -> list[tuple[int, int]]:
    """(first draw, draws) of every chunk."""
    return [(a, min(chunk_draws, draws - a)) for a in range(0, draws, chunk_draws)]


def sweep_values(ss: SweepScenario, draws: int, seed: int, method: str) -> dict[str, np.ndarray]:
    """Every input's draws: random (``ss.inputs.sample``) or Sobol's design (``draws`` base draws)."""
    if method == "sobol":
        return sobol_design(ss.inputs, draws, seed)[1]
    return ss.inputs.sample(draws, seed)


_RULES = {
    "draws": Number(1, MAX_DRAWS, whole=True),
    "seed": Number(0, 2**63 - 1, whole=True),
    "chunk_draws": Number(1, MAX_DRAWS, whole=True),
    "workers": Number(1, 512, whole=True, optional=True),
    "method": Choice(("random", "sobol")),
}


def _check_options(**values: Any) -> None:
    check_options("sweep", values, _RULES)


def _local(tasks: list[tuple[int, int, int]], ss: SweepScenario, values: dict[str, np.ndarray]) -> Iterator[Any]:
    for chunk, first, n in tasks:
        yield chunk, simulate_chunk(ss, {p: v[first : first + n] for p, v in values.items()}, first)


@contextlib.contextmanager
def _cluster(workers: int | None, scheduler: str | None) -> Iterator[Any]:
    """A dask client: on a LocalCluster of ``workers`` processes, or on the scheduler at ``scheduler``; connected
    before anything is stored, so an address that does not answer leaves the store as it was."""
    from distributed import Client, LocalCluster

    cluster = None
    try:
        if scheduler:
            client = Client(scheduler, timeout="10s")
        else:
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
            )
            client = Client(cluster)
    except (OSError, TimeoutError, ValueError) as exc:
        if cluster is not None:
            cluster.close()
        what = "a dask scheduler's address that answers" if scheduler else "worker processes that start"
        refuse("sweep", "scheduler" if scheduler else "workers", scheduler or workers, f"{what} ({clip(exc)})")
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _dask(
    client: Any, tasks: list[tuple[int, int, int]], ss: SweepScenario, values: dict[str, np.ndarray]
) -> Iterator[Any]:
    """The chunks as tasks on a dask client, yielded as they finish."""
    from distributed import as_completed

    shared = client.scatter(ss, broadcast=True)
    futures = {
        client.submit(
            simulate_chunk, shared, {p: v[first : first + n] for p, v in values.items()}, first, pure=False
        ): c
        for c, first, n in tasks
    }
    for fut in as_completed(futures):
        yield futures[fut], fut.result()


@dataclass(frozen=True)
class _Opened:
    ss: SweepScenario
    sweep_id: str
    chunk_draws: int
    values: dict[str, np.ndarray]
    done: set[int]


def _resumed(db: str | Path, resume: str) -> _Opened:
    """A stored sweep, ready to go on: its scenario from the stored text, the same draws, the chunks stored."""
    from fab2token.io import sweep_store

    meta = sweep_store.load_sweep(db, resume)
    ss = read_sweep_scenario(meta["scenario_text"], meta["file"])
    values = sweep_values(ss, meta["draws"], meta["seed"], meta["method"])
    done = sweep_store.stored_chunks(db, meta["sweep_id"])
    return _Opened(ss, meta["sweep_id"], meta["chunk_draws"], values, done)


def _prepared(
    scenario: str | Path,
    draws: int,
    seed: int,
    chunk_draws: int | None,
    method: str,
    workers: int | None = None,
    remote: bool = False,
) -> tuple[Any, ...]:
    """A new sweep's scenario, draws and record, checked before anything is stored; ``chunk_draws`` None: sized to
    the scenario (:func:`default_chunk_draws`)."""
    from fab2token.scenario import load_scenario
    from fab2token.scenario.timeline import month_axis, month_labels

    sc, text = load_scenario(scenario)
    ss = read_sweep_scenario(text, str(scenario), sc)
    values = sweep_values(ss, draws, seed, method)  # refuses a bad Sobol design before anything is stored
    if chunk_draws is None:
        total = len(next(iter(values.values())))
        chunk_draws = default_chunk_draws(len(sc.sites) * sc.horizon.months, total, workers, remote)
    meta = {
        "scenario_name": ss.name,
        "scenario_file": str(scenario),
        "scenario_text": text,
        "draws": draws,
        "seed": seed,
        "chunk_draws": chunk_draws,
        "method": method,
        "inputs": ss.paths,
        "months": month_labels(month_axis(sc.horizon.start, sc.horizon.months)),
    }
    return ss, values, meta


def run_sweep(
    scenario: str | Path | None,
    db: str | Path,
    draws: int = 200,
    seed: int = 0,
    chunk_draws: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: str | None = None,
    method: str = "random",
    on_chunk: Callable[[int, int], None] | None = None,
) -> SweepRun:
    """Run (or resume) a sweep of a scenario file and store it in ``db``.

    Parameters
    ----------
    scenario : str or Path or None
        The scenario file (None with ``resume``).
    db : str or Path
        The DuckDB store the chunks are committed to as they finish.
    draws, seed : int
        How many draws, and their seed (draws depend on seed, input path and draw index only).
    chunk_draws : int, optional
        Draws per chunk: one batch of the engine, one task, one transaction (default: sized to the scenario's work,
        :func:`default_chunk_draws`; stored with the sweep, so a resume keeps it).
    workers : int, optional
        Run the chunks on a dask LocalCluster of this many processes.
    scheduler : str, optional
        Run them on a running dask scheduler at this address (``tcp://host:port``).
    resume : str, optional
        A stored sweep's id; its own scenario text, draws, seed, method and chunks are used (the other arguments but
        the executor's are ignored) and only the chunks not stored yet are computed.
    method : str
        ``random`` (``draws`` draws) or ``sobol`` (Saltelli's design of ``draws`` base draws, ``draws x (inputs +
        2)`` in all).
    on_chunk : callable, optional
        ``on_chunk(draws done, draws)`` after each stored chunk (a progress bar).

    Returns
    -------
    SweepRun
        The sweep's id, its draws, the chunks computed now and those found stored.

    Raises
    ------
    ScenarioError, OptionError, StoreError
        A scenario that does not validate or has nothing uncertain, a bad option, a store that cannot take it.
    """
    from fab2token.io import store, sweep_store

    _check_options(
        draws=draws, seed=seed, chunk_draws=1 if chunk_draws is None else chunk_draws, workers=workers, method=method
    )
    store.check_store(db)
    if scenario is None and not resume:
        refuse("sweep", "scenario", None, "a scenario file, or --resume ID of a stored sweep")
    new = (
        None if resume else _prepared(scenario, draws, seed, chunk_draws, method, workers, bool(scheduler))  # type: ignore[arg-type]
    )
    with contextlib.ExitStack() as stack:
        client = stack.enter_context(_cluster(workers, scheduler)) if (workers or scheduler) else None
        if new is None:
            op = _resumed(db, resume)  # type: ignore[arg-type]
        else:
            ss, values, meta = new
            op = _Opened(ss, sweep_store.create_sweep(db, meta), meta["chunk_draws"], values, set())
        return _compute(db, op, client, on_chunk)


def _compute(db: str | Path, op: _Opened, client: Any, on_chunk: Callable[[int, int], None] | None) -> SweepRun:
    """The chunks not stored yet, each committed as it finishes; the sweep marked complete at the end."""
    from fab2token.io import sweep_store

    values = op.values
    total = len(next(iter(values.values())))
    tasks = [(c, a, n) for c, (a, n) in enumerate(chunk_bounds(total, op.chunk_draws)) if c not in op.done]
    done_draws = total - sum(n for _, _, n in tasks)
    run = _dask(client, tasks, op.ss, values) if client is not None else _local(tasks, op.ss, values)
    try:
        for chunk, result in run:
            first = result.first
            inputs = {p: v[first : first + result.n].astype(float) for p, v in values.items()}
            sweep_store.save_chunk(db, op.sweep_id, chunk, inputs, result)
            done_draws += result.n
            if on_chunk is not None:
                on_chunk(done_draws, total)
    except Fab2TokenError as exc:  # a draw the engine refuses: the same draw would fail again on --resume
        if done_draws == 0:
            sweep_store.drop_sweep(db, op.sweep_id)
            raise
        sweep_store.mark_sweep(db, op.sweep_id, "failed")
        exc.args = (f"{exc}\n(sweep {op.sweep_id}: the {done_draws:,} draws stored before are kept, status failed)",)
        raise
    sweep_store.finish_sweep(db, op.sweep_id)
    return SweepRun(op.sweep_id, total, len(tasks), len(op.done))
