"""The fab line's event loop in plain Python: the hot path of :func:`fab2token.supply.fabline.simulate_fab`, kept in
its own module.

It runs anywhere and is the reference: ``kernel.cpp`` ports it statement for statement (same random draws, same
floating-point operations in the same order, same event and queue orders), and ``python -m
fab2token.supply.fabline.build`` compiles that port into ``_kernel_native.so``, which :func:`simulate_fab` uses for
the named dispatch rules when it is built from the current source (about 30x faster, bit-identical results; a test
checks every branch). An edit here must be made in ``kernel.cpp`` too. See :mod:`fab2token.supply.fabline.engine`
for what is modelled.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable
from typing import Any

import numpy as np

from fab2token.supply.fabline.loader import FabModel
from fab2token.supply.fabline.totals import summaries

# event codes
_RELEASE, _ARRIVE, _LOT_DONE, _TOOL_FREE, _DOWN, _UP, _PM, _DAY = range(8)


def run(
    model: FabModel,
    days: float,
    key_fn: Callable[[float, float, float, float], float],
    fifo: bool,
    seed: int,
    progress: Callable[[float], None] | None,
    downs_per: str,
    preempt: bool = True,
) -> dict[str, Any]:
    """Simulate ``days`` days; returns the fields of a ``FablineResult`` (without dispatch name, seed, wall time)."""
    rng = random.Random(seed)
    uniform, expo, rand = rng.uniform, rng.expovariate, rng.random
    horizon = days * 1440.0

    fams = model.families
    nf = len(fams)
    # routes as flat per-step lists (fast indexing in the hot loop)
    R = model.routes
    s_fam = [[s.family for s in r] for r in R]
    s_pt = [[(s.pt_mean_min - s.pt_halfwidth_min, s.pt_mean_min + s.pt_halfwidth_min) for s in r] for r in R]
    s_per = [[s.per for s in r] for r in R]
    s_bmin = [[s.batch_min for s in r] for r in R]
    s_bmax = [[s.batch_max for s in r] for r in R]
    s_setup = [[s.setup for s in r] for r in R]
    s_stime = [[s.setup_min for s in r] for r in R]
    s_pint = [[s.part_interval_min for s in r] for r in R]
    s_bint = [[s.batch_interval_min for s in r] for r in R]
    s_samp = [[s.sample_frac for s in r] for r in R]
    s_rwk = [[s.rework_step for s in r] for r in R]
    s_rwkp = [[s.rework_frac for s in r] for r in R]
    # remaining mean work from each step to the end (for SPT / CR), in minutes per lot of 25 wafers
    remaining = []
    for r in R:
        work = [(s.pt_mean_min * (25 if s.per == 0 and s.part_interval_min == 0 else 1)) for s in r]
        remaining.append(list(np.cumsum(work[::-1])[::-1]) + [0.0])
    matrix = model.setup_matrix
    transport_lo = model.transport_min[0] - model.transport_min[1]
    transport_span = 2.0 * model.transport_min[1]
    load = [f.load_min + f.unload_min for f in fams]
    has_setups = [False] * len(fams)  # (plain: neither batching nor setups; set below)
    for r in R:
        for st in r:
            if st.setup >= 0:
                has_setups[st.family] = True
    batching = [f.batching for f in fams]

    # tools
    t_fam: list[int] = []
    for fi, f in enumerate(fams):
        t_fam.extend([fi] * f.tools)
    nt = len(t_fam)
    t_busy = [False] * nt
    t_down = [False] * nt
    t_setup = [-1] * nt
    t_pending: list[list[tuple[int, float]]] = [[] for _ in range(nt)]  # (kind, duration) waiting for the tool
    t_down_kind = [0] * nt  # 0 breakdown, 1 PM: a repaired breakdown draws the next time to failure
    t_job: list[list[int]] = [[] for _ in range(nt)]  # lots that move on when the tool frees
    t_extra = [0.0] * nt  # ... this long after it frees (unload)
    t_hold = [0.0] * nt  # minutes a breakdown stopped the running job for: it ends that much later
    t_pieces = [0.0] * nt
    idle: list[list[int]] = [[] for _ in range(nf)]
    for t in range(nt):
        idle[t_fam[t]].append(t)
    busy_min = [0.0] * nf
    down_min = [0.0] * nf
    setup_total = [0.0] * nf

    # lots
    l_route: list[int] = []
    l_step: list[int] = []
    l_prio: list[int] = []
    l_release: list[float] = []
    l_due: list[float] = []
    l_pieces: list[int] = []
    l_order: list[str] = []
    queue: list[list[Any]] = [[] for _ in range(nf)]  # heaps for non-batching families
    squeue: list[dict[int, list[Any]]] = [{} for _ in range(nf)]  # setup families: setup needed -> heap
    bqueue: list[dict[tuple[int, int], list[int]]] = [{} for _ in range(nf)]  # batching: (route, step) -> lots
    bq_wafers: list[dict[tuple[int, int], int]] = [{} for _ in range(nf)]  # ... and their wafers
    qlen = [0] * nf
    qlen_time = [0.0] * nf  # integral of queue length over time
    q_last = [0.0] * nf
    events: list[tuple[float, int, int, int]] = []
    completed: list[tuple[str, int, float, float, float, int]] = []
    released: dict[str, int] = {}

    counter = itertools.count()
    heappush, heappop = heapq.heappush, heapq.heappop

    def push(when: float, code: int, arg: int) -> None:
        heappush(events, (when, next(counter), code, arg))

    plain = [not batching[fi] and not has_setups[fi] for fi in range(nf)]

    def new_lot(order: str, route: int, step: int, prio: int, release: float, due: float, pieces: int) -> int:
        lot = len(l_route)
        l_route.append(route)
        l_step.append(step)
        l_prio.append(prio)
        l_release.append(release)
        l_due.append(due)
        l_pieces.append(pieces)
        l_order.append(order)
        return lot

    def touch(fi: int, now: float) -> None:
        qlen_time[fi] += qlen[fi] * (now - q_last[fi])
        q_last[fi] = now

    def enqueue(lot: int, now: float) -> None:
        r, k = l_route[lot], l_step[lot]
        fi = s_fam[r][k]
        if plain[fi] and not queue[fi]:  # nobody waiting: an idle tool takes the lot at once (no queue round trip)
            stack = idle[fi]
            while stack:
                tool = stack.pop()
                if not (t_busy[tool] or t_down[tool]):
                    start_job(tool, [lot], now)
                    return
        qlen_time[fi] += qlen[fi] * (now - q_last[fi])  # touch(fi, now), inlined on this hot path
        q_last[fi] = now
        qlen[fi] += 1
        if batching[fi]:
            bqueue[fi].setdefault((r, k), []).append(lot)
            bq_wafers[fi][(r, k)] = bq_wafers[fi].get((r, k), 0) + l_pieces[lot]
        else:
            key = now if fifo else key_fn(now, now, l_due[lot], remaining[r][k])
            if plain[fi]:
                heappush(queue[fi], (-l_prio[lot], key, lot))
            else:  # setup family: the entry joins the family's heap and the heap of lots needing its setup
                entry = [-l_prio[lot], key, lot, True]
                heappush(queue[fi], entry)
                heappush(squeue[fi].setdefault(s_setup[r][k], []), entry)
        if idle[fi]:
            dispatch_family(fi, now)

    # per (route, step): everything start_job needs, fetched with one lookup
    s_job = [
        [
            (st[0], st[1], st[2], st[3], st[4], st[5], st[6])
            for st in zip(
                (pt[0] for pt in s_pt[ri]),
                (pt[1] - pt[0] for pt in s_pt[ri]),
                s_per[ri],
                s_setup[ri],
                s_stime[ri],
                s_pint[ri],
                s_bint[ri],
                strict=True,
            )
        ]
        for ri in range(len(R))
    ]

    def start_job(tool: int, lots: list[int], now: float) -> None:
        fi = t_fam[tool]
        lot0 = lots[0]
        lo, span, per, need, stime, pint, bint = s_job[l_route[lot0]][l_step[lot0]]
        setup_t = 0.0
        if need >= 0 and t_setup[tool] != need:
            setup_t = matrix.get((t_setup[tool], need), matrix.get((-1, need), stime))
            t_setup[tool] = need
            setup_total[fi] += setup_t
        pt = lo + span * rand()  # = uniform(lo, hi), same draws
        pieces = l_pieces[lot0] if len(lots) == 1 else sum(l_pieces[x] for x in lots)
        if per == 0:
            if pint > 0:
                lot_time, tool_time = pt + (pieces - 1) * pint, pieces * pint
            else:
                lot_time = tool_time = pt * pieces
        else:
            lot_time = tool_time = pt
            if bint > 0:  # cascading lots/batches: the tool takes the next one after the interval
                tool_time = min(bint, pt)
        # load and unload (LTIME, ULTIME) lengthen the lot's time; they hold the tool too unless it cascades (a
        # cascading tool loads the next lot while it processes this one), as PySCFabSim and code-gihan's AutoSched
        # re-implementation do (docs/stages/fabline.md)
        end_tool = now + setup_t + tool_time + (0.0 if pint > 0 or bint > 0 else load[fi])
        end_lot = now + setup_t + load[fi] + lot_time
        t_busy[tool] = True
        t_pieces[tool] += pieces
        busy_min[fi] += (end_tool if end_tool < horizon else horizon) - now if now < horizon else 0.0
        heappush(events, (end_tool, next(counter), _TOOL_FREE, tool))
        if end_lot >= end_tool:  # the usual case: the lots move on when the tool frees (one event, not two)
            t_job[tool] = lots
            t_extra[tool] = end_lot - end_tool
        else:
            t_job[tool] = []
            for x in lots:
                push(end_lot, _LOT_DONE, x)

    def dispatch_family(fi: int, now: float) -> None:
        stack = idle[fi]
        if plain[fi]:  # the common case, kept short
            q = queue[fi]
            while stack and q:
                tool = stack.pop()
                if t_busy[tool] or t_down[tool]:
                    continue
                lot = heappop(q)[2]
                qlen_time[fi] += qlen[fi] * (now - q_last[fi])
                q_last[fi] = now
                qlen[fi] -= 1
                start_job(tool, [lot], now)
            return
        if batching[fi]:
            dispatch_batch(fi, now)
        else:
            dispatch_setup(fi, now)

    def dispatch_batch(fi: int, now: float) -> None:
        stack = idle[fi]
        while stack and qlen[fi]:
            tool = stack.pop()
            if t_busy[tool] or t_down[tool]:
                continue
            best = None
            for key, wafers in bq_wafers[fi].items():
                r, k = key
                if wafers >= s_bmin[r][k]:
                    lots = bqueue[fi][key]
                    cand = (-max(l_prio[x] for x in lots), lots[0], key)
                    if best is None or cand < best:
                        best = cand
            if best is None:
                stack.append(tool)
                return
            key = best[2]
            lots = bqueue[fi][key]
            lots.sort(key=lambda x: -l_prio[x])
            take, wafers = [], 0
            r, k = key
            while lots and wafers + l_pieces[lots[0]] <= s_bmax[r][k]:
                x = lots.pop(0)
                take.append(x)
                wafers += l_pieces[x]
            if not lots:
                del bqueue[fi][key]
                del bq_wafers[fi][key]
            else:
                bq_wafers[fi][key] -= wafers
            touch(fi, now)
            qlen[fi] -= len(take)
            start_job(tool, take, now)

    def dispatch_setup(fi: int, now: float) -> None:
        # the family's heap plus one heap per setup needed, sharing entries [-prio, key, lot, alive]; a lot taken
        # from one heap is marked dead and dropped lazily from the other (no scan of the queue, no re-heapify)
        stack = idle[fi]
        q = queue[fi]
        by_need = squeue[fi]
        while stack and qlen[fi]:
            while not q[0][3]:
                heappop(q)
            if len(stack) > 1:
                # several tools idle: give the head lot a tool already set up for it, if there is one
                head = q[0][2]
                need = s_setup[l_route[head]][l_step[head]]
                for j in range(len(stack) - 1, -1, -1):
                    if t_setup[stack[j]] == need and not (t_busy[stack[j]] or t_down[stack[j]]):
                        stack[j], stack[-1] = stack[-1], stack[j]
                        break
            tool = stack.pop()
            if t_busy[tool] or t_down[tool]:
                continue
            pick = None
            cur = t_setup[tool]
            if cur >= 0:  # setup-aware: the first lot of the top priority class needing no setup goes first
                top = q[0][0]
                for need in (-1, cur):
                    sq = by_need.get(need)
                    if sq:
                        while sq and not sq[0][3]:
                            heappop(sq)
                        if sq and sq[0][0] == top and (pick is None or sq[0] < pick):
                            pick = sq[0]
            if pick is None:
                pick = heappop(q)
            pick[3] = False
            touch(fi, now)
            qlen[fi] -= 1
            start_job(tool, [pick[2]], now)

    route_len = [len(r) for r in R]
    moves = transport_lo > 0 or transport_span > 0

    def advance(lot: int, now: float) -> None:
        r, k = l_route[lot], l_step[lot]
        rw = s_rwk[r][k]
        if rw >= 0 and rand() < s_rwkp[r][k]:
            k = rw
        else:
            k += 1
        n = route_len[r]
        samp = s_samp[r]
        while k < n and samp[k] < 1.0 and rand() >= samp[k]:
            k += 1  # sampled step skipped
        if k >= n:
            completed.append((l_order[lot], l_prio[lot], l_release[lot], now, l_due[lot], l_pieces[lot]))
            return
        l_step[lot] = k
        heappush(
            events, (now + (transport_lo + transport_span * rand() if moves else 0.0), next(counter), _ARRIVE, lot)
        )

    def tool_free(tool: int, now: float) -> None:
        t_busy[tool] = False
        fi = t_fam[tool]
        if t_pending[tool]:
            kind, dur = t_pending[tool].pop(0)
            t_down[tool] = True
            t_down_kind[tool] = kind
            down_min[fi] += dur
            push(now + dur, _UP, tool)
            return
        idle[fi].append(tool)
        if qlen[fi]:
            dispatch_family(fi, now)

    # downs and PMs
    down_of_group = model.downs
    pm_by_family: dict[int, list[Any]] = {}
    for pm in model.pms:
        pm_by_family.setdefault(pm.family, []).append(pm)
    piece_pms: dict[int, list[list[float]]] = {}  # tool -> [[next threshold, every, mean, hw], ...]
    groups = sorted({fams[t_fam[t]].group for t in range(nt) if fams[t_fam[t]].group in down_of_group})
    group_tools = {g: [t for t in range(nt) if fams[t_fam[t]].group == g] for g in groups}
    if downs_per == "group":  # one failure process per station group, striking one of its tools at random
        for gi, g in enumerate(groups):
            push(expo(1.0 / down_of_group[g][0]), _DOWN, nt + gi)
    for t in range(nt):
        fam = fams[t_fam[t]]
        if downs_per == "tool" and fam.group in down_of_group:
            mttf, _ = down_of_group[fam.group]
            push(expo(1.0 / mttf), _DOWN, t)
        for j, pm in enumerate(pm_by_family.get(t_fam[t], [])):
            if pm.by_pieces:
                piece_pms.setdefault(t, []).append([pm.first, pm.every, pm.mean_min, pm.halfwidth_min])
            else:
                push(pm.first, _PM, t * 64 + j)

    piece_pm_of: list[list[list[float]] | None] = [piece_pms.get(t) for t in range(nt)]

    def go_down(tool: int, kind: int, dur: float, now: float) -> None:
        # a breakdown stops a running job, which resumes after the repair (``preempt``); a PM waits for the job
        if t_down[tool] or (t_busy[tool] and not (preempt and kind == 0)):
            t_pending[tool].append((kind, dur))
        else:
            t_down[tool] = True
            t_down_kind[tool] = kind
            down_min[t_fam[tool]] += dur
            if t_busy[tool]:
                t_hold[tool] += dur
            push(now + dur, _UP, tool)

    # releases and initial WIP
    for i, o in enumerate(model.orders):
        released[o.name] = 0
        if o.count > 0:
            push(o.start_min, _RELEASE, i)
    order_name = {(o.route, o.priority): o.name for o in model.orders}
    for w in model.wip:  # initial WIP counts with the order stream of its product and priority class
        lot = new_lot(
            order_name.get((w.route, w.priority), "WIP"), w.route, w.step, w.priority, -1.0, w.due_min, w.pieces
        )
        push(0.0, _ARRIVE, lot)

    wip_by_day: list[int] = []
    push(0.0, _DAY, 0)  # a daily sample of WIP (and the progress bar), not a check on every event
    now = 0.0
    TOOL_FREE, ARRIVE = _TOOL_FREE, _ARRIVE  # locals: the two events that are nearly all of them
    while events:
        now, _, code, arg = heappop(events)
        if now > horizon:
            events.append((now, 0, code, arg))  # keep it counted as unprocessed
            break
        if code == TOOL_FREE:
            tool = arg
            if t_hold[tool] > 0.0:  # a breakdown stopped the job: it ends as much later
                heappush(events, (now + t_hold[tool], next(counter), TOOL_FREE, tool))
                t_hold[tool] = 0.0
                continue
            job = t_job[tool]
            if job:
                t_job[tool] = []
                done_at = now + t_extra[tool]
                for lot in job:
                    advance(lot, done_at)
            pms_here = piece_pm_of[tool]
            if pms_here is not None:
                for ppm in pms_here:  # [next threshold, every, mean, half-width]
                    if t_pieces[tool] >= ppm[0]:
                        ppm[0] += ppm[1]
                        t_pending[tool].append((1, uniform(ppm[2] - ppm[3], ppm[2] + ppm[3])))
            if t_pending[tool]:
                tool_free(tool, now)
            else:  # tool_free(), inlined on this hot path
                t_busy[tool] = False
                fi = t_fam[tool]
                idle[fi].append(tool)
                if qlen[fi]:
                    dispatch_family(fi, now)
        elif code == ARRIVE:
            enqueue(arg, now)
        elif code == _LOT_DONE:
            advance(arg, now)
        elif code == _RELEASE:
            o = model.orders[arg]
            released[o.name] += 1
            lot = new_lot(o.name, o.route, 0, o.priority, now, now + o.due_offset_min, o.pieces)
            enqueue(lot, now)
            if released[o.name] < o.count:
                push(now + o.interval_min, _RELEASE, arg)
        elif code == _DOWN:
            if arg >= nt:  # a station group's failure process
                g = groups[arg - nt]
                mttf, mttr = down_of_group[g]
                go_down(group_tools[g][int(rand() * len(group_tools[g]))], 0, expo(1.0 / mttr), now)
                push(now + expo(1.0 / mttf), _DOWN, arg)
                continue
            _, mttr = down_of_group[fams[t_fam[arg]].group]
            go_down(arg, 0, expo(1.0 / mttr), now)
        elif code == _UP:
            tool = arg
            fam = fams[t_fam[tool]]
            if t_down_kind[tool] == 0 and downs_per == "tool" and fam.group in down_of_group:
                push(now + expo(1.0 / down_of_group[fam.group][0]), _DOWN, tool)  # next time to failure
            t_down[tool] = False
            if t_pending[tool] and not (t_busy[tool] and t_pending[tool][0][0] == 1):  # a PM waits for the job
                kind, dur = t_pending[tool].pop(0)
                t_down[tool] = True
                t_down_kind[tool] = kind
                down_min[t_fam[tool]] += dur
                if t_busy[tool]:
                    t_hold[tool] += dur
                push(now + dur, _UP, tool)
                continue
            if t_busy[tool]:  # the stopped job resumes; the tool frees when it ends
                continue
            idle[t_fam[tool]].append(tool)
            dispatch_family(t_fam[tool], now)
        elif code == _DAY:
            wip_by_day.append(len(l_route) - len(completed))
            if progress is not None:
                progress(now / 1440.0 + 1.0)
            push(now + 1440.0, _DAY, 0)
        elif code == _PM:
            tool, j = divmod(arg, 64)
            pm = pm_by_family[t_fam[tool]][j]
            go_down(tool, 1, uniform(pm.mean_min - pm.halfwidth_min, pm.mean_min + pm.halfwidth_min), now)
            push(now + pm.every, _PM, arg)
    # every event pushed and popped within the horizon, less the daily samples
    processed = next(counter) - len(events) - len(wip_by_day)
    end = min(horizon, now) if events else horizon
    for fi in range(nf):
        touch(fi, end)
    return {
        "completed": completed,
        "wip_by_day": wip_by_day,
        **summaries(fams, busy_min, down_min, qlen_time, setup_total, end),
        "events_processed": processed,
        "released": released,
    }
