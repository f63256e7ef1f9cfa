// The fab line's event loop in C++: a port of kernel.py's run(), statement for statement, with the same random
// draws in the same order (CPython's MT19937 from the state random.Random(seed) has, and random(), uniform() and
// expovariate() as CPython computes them), the same floating-point operations in the same order, and the same
// event and queue orders (every heap is ordered by a total key, so any correct heap pops the same sequence).
// Results are bit-identical to the plain Python kernel; tests/test_fabline.py checks it on every branch.
//
// Built by `python -m fab2token.supply.fabline.build` into _kernel_native.so (no Python headers: a C ABI loaded
// with ctypes by native.py). Compiled with -ffp-contract=off so that no multiply-add is fused.
#include <algorithm>
#include <deque>
#include <utility>

#include "kernel.h"

#ifndef FAB_SOURCE_SHA256
#define FAB_SOURCE_SHA256 "unknown"
#endif

namespace {

struct Sim {
    const FabIn& in;
    FabOut& out;
    Rng rng;
    i64 counter = 0;
    std::vector<Ev> events;
    // tools
    std::vector<i64> t_fam, t_setup, t_down_kind;
    std::vector<char> t_busy, t_down;
    std::vector<std::deque<std::pair<int, double>>> t_pending;
    std::vector<std::vector<i64>> t_job;
    std::vector<double> t_extra, t_hold, t_pieces;
    std::vector<std::vector<i64>> idle;
    std::vector<std::vector<double>> piece_pm;  // per tool: [threshold, every, mean, hw] * n
    // families
    std::vector<char> plain;
    std::vector<i64> qlen;
    std::vector<double> q_last;
    std::vector<std::vector<QEntry>> queue;  // plain families
    std::vector<std::vector<i64>> squeue_all;  // setup families: the family's heap of entry ids
    std::vector<std::vector<std::vector<i64>>> squeue;  // ... and one per setup needed (need + 1)
    std::vector<SEntry> entries;
    std::vector<int> refs;  // heaps holding each entry
    std::vector<i64> free_ids;
    std::vector<std::map<std::pair<i64, i64>, BQ>> bqueue;
    // lots
    std::vector<i64> l_route, l_step, l_prio, l_pieces, l_name;
    std::vector<double> l_release, l_due;
    std::vector<i64> released;
    bool moves;
    bool failed = false;

    Sim(const FabIn& in_, FabOut& out_) : in(in_), out(out_) {}

    bool s_less(i64 a, i64 b) const {
        const SEntry &x = entries[a], &y = entries[b];
        if (x.negprio != y.negprio) return x.negprio < y.negprio;
        if (x.key != y.key) return x.key < y.key;
        if (x.lot != y.lot) return x.lot < y.lot;
        return x.alive < y.alive;
    }
    void s_push(std::vector<i64>& h, i64 e) {
        h.push_back(e);
        std::push_heap(h.begin(), h.end(), [this](i64 a, i64 b) { return s_less(b, a); });
    }
    void s_pop(std::vector<i64>& h) {  // an entry out of both its heaps is free for a later one
        std::pop_heap(h.begin(), h.end(), [this](i64 a, i64 b) { return s_less(b, a); });
        i64 e = h.back();
        h.pop_back();
        if (--refs[e] == 0) free_ids.push_back(e);
    }
    i64 new_entry(i64 negprio, double key, i64 lot) {
        SEntry x{negprio, key, lot, true};
        if (free_ids.empty()) {
            entries.push_back(x);
            refs.push_back(2);
            return (i64)entries.size() - 1;
        }
        i64 e = free_ids.back();
        free_ids.pop_back();
        entries[e] = x;
        refs[e] = 2;
        return e;
    }
    void push(double when, int code, i64 arg) {
        events.push_back(Ev{when, counter++, code, arg});
        std::push_heap(events.begin(), events.end(), EvLater());
    }
    i64 step_at(i64 lot) const { return in.r_off[l_route[lot]] + l_step[lot]; }

    i64 new_lot(i64 name, i64 route, i64 step, i64 prio, double release, double due, i64 pieces) {
        i64 lot = (i64)l_route.size();
        l_route.push_back(route);
        l_step.push_back(step);
        l_prio.push_back(prio);
        l_release.push_back(release);
        l_due.push_back(due);
        l_pieces.push_back(pieces);
        l_name.push_back(name);
        return lot;
    }
    void touch(i64 fi, double now) {
        out.qlen_time[fi] += qlen[fi] * (now - q_last[fi]);
        q_last[fi] = now;
    }

    void enqueue(i64 lot, double now) {
        i64 r = l_route[lot], k = l_step[lot], s = in.r_off[r] + k;
        i64 fi = in.s_fam[s];
        if (plain[fi] && queue[fi].empty()) {
            std::vector<i64>& stack = idle[fi];
            while (!stack.empty()) {
                i64 tool = stack.back();
                stack.pop_back();
                if (!(t_busy[tool] || t_down[tool])) {
                    start_job(tool, &lot, 1, now);
                    return;
                }
            }
        }
        touch(fi, now);
        qlen[fi] += 1;
        if (in.f_batching[fi]) {
            BQ& b = bqueue[fi][{r, k}];
            b.lots.push_back(lot);
            b.wafers = b.wafers + l_pieces[lot];
        } else {
            double key;
            switch (in.rule) {
                case 0: key = now; break;
                case 1: key = l_due[lot]; break;
                case 2: key = in.s_remaining[s]; break;
                default: {
                    double rem = in.s_remaining[s];
                    key = (l_due[lot] - now) / (1.0 > rem ? 1.0 : rem);
                }
            }
            if (plain[fi]) {
                queue[fi].push_back(QEntry{-l_prio[lot], key, lot});
                std::push_heap(queue[fi].begin(), queue[fi].end(), QLater());
            } else {
                i64 e = new_entry(-l_prio[lot], key, lot);
                s_push(squeue_all[fi], e);
                s_push(squeue[fi][in.s_setup[s] + 1], e);
            }
        }
        if (!idle[fi].empty()) dispatch_family(fi, now);
    }

    void start_job(i64 tool, const i64* lots, size_t nlots, double now) {
        i64 fi = t_fam[tool];
        i64 s = step_at(lots[0]);
        double lo = in.s_lo[s], span = in.s_span[s], stime = in.s_stime[s], pint = in.s_pint[s], bint = in.s_bint[s];
        i64 per = in.s_per[s], need = in.s_setup[s];
        double setup_t = 0.0;
        if (need >= 0 && t_setup[tool] != need) {
            double v = in.matrix[(t_setup[tool] + 1) * in.ns + need];
            if (std::isnan(v)) v = in.matrix[need];  // (-1, need)
            setup_t = std::isnan(v) ? stime : v;
            t_setup[tool] = need;
            out.setup_total[fi] += setup_t;
        }
        double pt = lo + span * rng.random();
        i64 pieces = 0;
        for (size_t j = 0; j < nlots; j++) pieces += l_pieces[lots[j]];
        double lot_time, tool_time;
        if (per == 0) {
            if (pint > 0) {
                lot_time = pt + (double)(pieces - 1) * pint;
                tool_time = (double)pieces * pint;
            } else {
                lot_time = tool_time = pt * (double)pieces;
            }
        } else {
            lot_time = tool_time = pt;
            if (bint > 0) tool_time = bint < pt ? bint : pt;  // min(bint, pt)
        }
        double load = in.f_load[fi];
        double end_tool = now + setup_t + tool_time + ((pint > 0 || bint > 0) ? 0.0 : load);
        double end_lot = now + setup_t + load + lot_time;
        t_busy[tool] = 1;
        t_pieces[tool] += (double)pieces;
        out.busy_min[fi] += now < in.horizon ? (end_tool < in.horizon ? end_tool : in.horizon) - now : 0.0;
        push(end_tool, TOOL_FREE, tool);
        if (end_lot >= end_tool) {
            t_job[tool].assign(lots, lots + nlots);
            t_extra[tool] = end_lot - end_tool;
        } else {
            t_job[tool].clear();
            for (size_t j = 0; j < nlots; j++) push(end_lot, LOT_DONE, lots[j]);
        }
    }

    void dispatch_family(i64 fi, double now) {
        if (plain[fi]) {
            std::vector<i64>& stack = idle[fi];
            std::vector<QEntry>& q = queue[fi];
            while (!stack.empty() && !q.empty()) {
                i64 tool = stack.back();
                stack.pop_back();
                if (t_busy[tool] || t_down[tool]) continue;
                std::pop_heap(q.begin(), q.end(), QLater());
                i64 lot = q.back().lot;
                q.pop_back();
                touch(fi, now);
                qlen[fi] -= 1;
                start_job(tool, &lot, 1, now);
            }
            return;
        }
        if (in.f_batching[fi])
            dispatch_batch(fi, now);
        else
            dispatch_setup(fi, now);
    }

    void dispatch_batch(i64 fi, double now) {
        std::vector<i64>& stack = idle[fi];
        auto& bq = bqueue[fi];
        while (!stack.empty() && qlen[fi]) {
            i64 tool = stack.back();
            stack.pop_back();
            if (t_busy[tool] || t_down[tool]) continue;
            bool found = false;
            i64 best_p = 0, best_first = 0;
            std::pair<i64, i64> best_key;
            for (auto& kv : bq) {  // (-max priority, first lot): unique, so the map's order does not matter
                i64 s = in.r_off[kv.first.first] + kv.first.second;
                if (kv.second.wafers >= in.s_bmin[s]) {
                    i64 top = l_prio[kv.second.lots[0]];
                    for (i64 x : kv.second.lots) top = std::max(top, l_prio[x]);
                    i64 p = -top, first = kv.second.lots[0];
                    if (!found || p < best_p || (p == best_p && first < best_first)) {
                        found = true;
                        best_p = p;
                        best_first = first;
                        best_key = kv.first;
                    }
                }
            }
            if (!found) {
                stack.push_back(tool);
                return;
            }
            BQ& b = bq[best_key];
            std::stable_sort(b.lots.begin(), b.lots.end(), [this](i64 x, i64 y) { return -l_prio[x] < -l_prio[y]; });
            i64 bmax = in.s_bmax[in.r_off[best_key.first] + best_key.second];
            std::vector<i64> take;
            i64 wafers = 0;
            size_t n = 0;
            while (n < b.lots.size() && wafers + l_pieces[b.lots[n]] <= bmax) {
                take.push_back(b.lots[n]);
                wafers += l_pieces[b.lots[n]];
                n++;
            }
            if (take.empty()) {
                out.error = "a batch family's first lot is larger than the step's largest batch";
                failed = true;
                return;
            }
            b.lots.erase(b.lots.begin(), b.lots.begin() + n);
            if (b.lots.empty())
                bq.erase(best_key);
            else
                b.wafers -= wafers;
            touch(fi, now);
            qlen[fi] -= (i64)take.size();
            start_job(tool, take.data(), take.size(), now);
            if (failed) return;
        }
    }

    void dispatch_setup(i64 fi, double now) {
        std::vector<i64>& stack = idle[fi];
        std::vector<i64>& q = squeue_all[fi];
        auto& by_need = squeue[fi];
        while (!stack.empty() && qlen[fi]) {
            while (!q.empty() && !entries[q[0]].alive) s_pop(q);
            if (q.empty()) {
                out.error = "a setup family's queue is empty while lots are counted in it";
                failed = true;
                return;
            }
            if (stack.size() > 1) {
                i64 head = entries[q[0]].lot;
                i64 need = in.s_setup[step_at(head)];
                for (i64 j = (i64)stack.size() - 1; j >= 0; j--) {
                    i64 t = stack[j];
                    if (t_setup[t] == need && !(t_busy[t] || t_down[t])) {
                        std::swap(stack[j], stack.back());
                        break;
                    }
                }
            }
            i64 tool = stack.back();
            stack.pop_back();
            if (t_busy[tool] || t_down[tool]) continue;
            i64 pick = -1;
            i64 cur = t_setup[tool];
            if (cur >= 0) {
                i64 top = entries[q[0]].negprio;
                for (i64 need : {(i64)-1, cur}) {
                    std::vector<i64>& sq = by_need[need + 1];
                    if (sq.empty()) continue;
                    while (!sq.empty() && !entries[sq[0]].alive) s_pop(sq);
                    if (!sq.empty() && entries[sq[0]].negprio == top && (pick < 0 || s_less(sq[0], pick)))
                        pick = sq[0];
                }
            }
            if (pick < 0) {
                pick = q[0];
                s_pop(q);
            }
            entries[pick].alive = false;
            touch(fi, now);
            qlen[fi] -= 1;
            i64 lot = entries[pick].lot;
            start_job(tool, &lot, 1, now);
        }
    }

    void advance(i64 lot, double now) {
        i64 r = l_route[lot], k = l_step[lot];
        i64 base = in.r_off[r], n = in.r_off[r + 1] - base;
        i64 rw = in.s_rwk[base + k];
        if (rw >= 0 && rng.random() < in.s_rwkp[base + k])
            k = rw;
        else
            k += 1;
        while (k < n && in.s_samp[base + k] < 1.0 && rng.random() >= in.s_samp[base + k]) k += 1;
        if (k >= n) {
            out.c_name.push_back(l_name[lot]);
            out.c_prio.push_back(l_prio[lot]);
            out.c_release.push_back(l_release[lot]);
            out.c_finish.push_back(now);
            out.c_due.push_back(l_due[lot]);
            out.c_pieces.push_back(l_pieces[lot]);
            return;
        }
        l_step[lot] = k;
        push(now + (moves ? in.transport_lo + in.transport_span * rng.random() : 0.0), ARRIVE, lot);
    }

    void tool_free(i64 tool, double now) {
        t_busy[tool] = 0;
        i64 fi = t_fam[tool];
        if (!t_pending[tool].empty()) {
            auto [kind, dur] = t_pending[tool].front();
            t_pending[tool].pop_front();
            t_down[tool] = 1;
            t_down_kind[tool] = kind;
            out.down_min[fi] += dur;
            push(now + dur, UP, tool);
            return;
        }
        idle[fi].push_back(tool);
        if (qlen[fi]) dispatch_family(fi, now);
    }

    void go_down(i64 tool, int kind, double dur, double now) {
        if (t_down[tool] || (t_busy[tool] && !(in.preempt && kind == 0))) {
            t_pending[tool].emplace_back(kind, dur);
        } else {
            t_down[tool] = 1;
            t_down_kind[tool] = kind;
            out.down_min[t_fam[tool]] += dur;
            if (t_busy[tool]) t_hold[tool] += dur;
            push(now + dur, UP, tool);
        }
    }

    void setup() {
        std::copy(in.mt_state, in.mt_state + 624, rng.mt);
        rng.index = (int)in.mt_index;
        i64 nf = in.nf, nt = in.nt;
        for (i64 fi = 0; fi < nf; fi++)
            for (i64 j = 0; j < in.f_tools[fi]; j++) t_fam.push_back(fi);
        t_setup.assign(nt, -1);
        t_down_kind.assign(nt, 0);
        t_busy.assign(nt, 0);
        t_down.assign(nt, 0);
        t_pending.resize(nt);
        t_job.resize(nt);
        t_extra.assign(nt, 0.0);
        t_hold.assign(nt, 0.0);
        t_pieces.assign(nt, 0.0);
        piece_pm.resize(nt);
        idle.resize(nf);
        for (i64 t = 0; t < nt; t++) idle[t_fam[t]].push_back(t);
        plain.resize(nf);
        for (i64 fi = 0; fi < nf; fi++) plain[fi] = !in.f_batching[fi] && !in.f_has_setups[fi];
        qlen.assign(nf, 0);
        q_last.assign(nf, 0.0);
        queue.resize(nf);
        squeue_all.resize(nf);
        squeue.resize(nf);
        for (i64 fi = 0; fi < nf; fi++)
            if (!plain[fi] && !in.f_batching[fi]) squeue[fi].resize(in.ns + 1);
        bqueue.resize(nf);
        out.busy_min.assign(nf, 0.0);
        out.down_min.assign(nf, 0.0);
        out.qlen_time.assign(nf, 0.0);
        out.setup_total.assign(nf, 0.0);
        released.assign(in.nnames, 0);
        moves = in.transport_lo > 0 || in.transport_span > 0;
        // downs and PMs, pushed in the Python kernel's order
        if (in.downs_per_group)
            for (i64 gi = 0; gi < in.ngroups; gi++) push(rng.expovariate(1.0 / in.g_mttf[gi]), DOWN, nt + gi);
        for (i64 t = 0; t < nt; t++) {
            i64 fi = t_fam[t];
            if (!in.downs_per_group && in.f_has_down[fi]) push(rng.expovariate(1.0 / in.f_mttf[fi]), DOWN, t);
            for (i64 p = in.f_pm_off[fi]; p < in.f_pm_off[fi + 1]; p++) {
                if (in.pm_by_pieces[p]) {
                    std::vector<double>& v = piece_pm[t];
                    v.insert(v.end(), {in.pm_first[p], in.pm_every[p], in.pm_mean[p], in.pm_hw[p]});
                } else {
                    push(in.pm_first[p], PM, t * 64 + (p - in.f_pm_off[fi]));
                }
            }
        }
        for (i64 i = 0; i < in.norders; i++)
            if (in.o_count[i] > 0) push(in.o_start[i], RELEASE, i);
        for (i64 i = 0; i < in.nwip; i++) {
            i64 lot = new_lot(in.w_name[i], in.w_route[i], in.w_step[i], in.w_prio[i], -1.0, in.w_due[i], in.w_pieces[i]);
            push(0.0, ARRIVE, lot);
        }
        push(0.0, DAY, 0);
    }

    void on_tool_free(i64 tool, double now) {
        if (t_hold[tool] > 0.0) {
            push(now + t_hold[tool], TOOL_FREE, tool);
            t_hold[tool] = 0.0;
            return;
        }
        if (!t_job[tool].empty()) {
            std::vector<i64> job;
            job.swap(t_job[tool]);
            double done_at = now + t_extra[tool];
            for (i64 lot : job) advance(lot, done_at);
        }
        std::vector<double>& pms = piece_pm[tool];
        for (size_t j = 0; j < pms.size(); j += 4) {
            if (t_pieces[tool] >= pms[j]) {
                pms[j] += pms[j + 1];
                t_pending[tool].emplace_back(1, rng.uniform(pms[j + 2] - pms[j + 3], pms[j + 2] + pms[j + 3]));
            }
        }
        tool_free(tool, now);
    }

    void on_up(i64 tool, double now) {
        i64 fi = t_fam[tool];
        if (t_down_kind[tool] == 0 && !in.downs_per_group && in.f_has_down[fi])
            push(now + rng.expovariate(1.0 / in.f_mttf[fi]), DOWN, tool);
        t_down[tool] = 0;
        auto& pending = t_pending[tool];
        if (!pending.empty() && !(t_busy[tool] && pending.front().first == 1)) {
            auto [kind, dur] = pending.front();
            pending.pop_front();
            t_down[tool] = 1;
            t_down_kind[tool] = kind;
            out.down_min[fi] += dur;
            if (t_busy[tool]) t_hold[tool] += dur;
            push(now + dur, UP, tool);
            return;
        }
        if (t_busy[tool]) return;
        idle[fi].push_back(tool);
        dispatch_family(fi, now);
    }

    void run() {
        setup();
        double now = 0.0;
        i64 days = 0;
        bool broke = false;
        while (!events.empty() && !failed) {
            std::pop_heap(events.begin(), events.end(), EvLater());
            Ev ev = events.back();
            events.pop_back();
            now = ev.when;
            if (now > in.horizon) {
                broke = true;  // kept counted as unprocessed
                break;
            }
            i64 arg = ev.arg;
            switch (ev.code) {
                case TOOL_FREE: on_tool_free(arg, now); break;
                case ARRIVE: enqueue(arg, now); break;
                case LOT_DONE: advance(arg, now); break;
                case RELEASE: {
                    released[in.o_name[arg]] += 1;
                    i64 lot = new_lot(in.o_name[arg], in.o_route[arg], 0, in.o_prio[arg], now, now + in.o_due_offset[arg],
                                      in.o_pieces[arg]);
                    enqueue(lot, now);
                    if (released[in.o_name[arg]] < in.o_count[arg]) push(now + in.o_interval[arg], RELEASE, arg);
                    break;
                }
                case DOWN: {
                    if (arg >= in.nt) {
                        i64 gi = arg - in.nt, lo = in.g_off[gi], n = in.g_off[gi + 1] - lo;
                        i64 tool = in.g_tools[lo + (i64)(rng.random() * (double)n)];
                        double dur = rng.expovariate(1.0 / in.g_mttr[gi]);
                        go_down(tool, 0, dur, now);
                        push(now + rng.expovariate(1.0 / in.g_mttf[gi]), DOWN, arg);
                        break;
                    }
                    go_down(arg, 0, rng.expovariate(1.0 / in.f_mttr[t_fam[arg]]), now);
                    break;
                }
                case UP: on_up(arg, now); break;
                case DAY:
                    out.wip_by_day.push_back((i64)l_route.size() - (i64)out.c_name.size());
                    days++;
                    if (in.progress && in.progress(now / 1440.0 + 1.0)) {
                        out.error = "stopped by the caller";
                        failed = true;
                    }
                    push(now + 1440.0, DAY, 0);
                    break;
                case PM: {
                    i64 tool = arg / 64, j = arg % 64, p = in.f_pm_off[t_fam[tool]] + j;
                    go_down(tool, 1, rng.uniform(in.pm_mean[p] - in.pm_hw[p], in.pm_mean[p] + in.pm_hw[p]), now);
                    push(now + in.pm_every[p], PM, arg);
                    break;
                }
            }
        }
        i64 left = (i64)events.size() + (broke ? 1 : 0);
        double end = left ? (in.horizon < now ? in.horizon : now) : in.horizon;
        for (i64 fi = 0; fi < in.nf; fi++) touch(fi, end);
        out.released = released;
        out.scalars = {(double)(counter - left - days), end};
    }
};

}  // namespace

extern "C" {

const char* fab_source_sha256() { return FAB_SOURCE_SHA256; }

FabOut* fab_run(const FabIn* in) {
    FabOut* out = new FabOut();
    try {
        Sim sim(*in, *out);
        sim.run();
    } catch (const std::exception& exc) {
        out->error = exc.what();
    }
    return out;
}

const char* fab_error(const FabOut* out) { return out->error.c_str(); }

// which: 0 name, 1 priority, 2 release, 3 finish, 4 due, 5 pieces (the completed lots), 6 WIP by day, 7 busy
// minutes, 8 down minutes, 9 queue-length integral, 10 setup minutes (per family), 11 released (per name),
// 12 [events processed, end]
i64 fab_len(const FabOut* o, int which) {
    switch (which) {
        case 0: case 1: case 2: case 3: case 4: case 5: return (i64)o->c_name.size();
        case 6: return (i64)o->wip_by_day.size();
        case 7: case 8: case 9: case 10: return (i64)o->busy_min.size();
        case 11: return (i64)o->released.size();
        case 12: return (i64)o->scalars.size();
    }
    return 0;
}

const void* fab_data(const FabOut* o, int which) {
    switch (which) {
        case 0: return o->c_name.data();
        case 1: return o->c_prio.data();
        case 2: return o->c_release.data();
        case 3: return o->c_finish.data();
        case 4: return o->c_due.data();
        case 5: return o->c_pieces.data();
        case 6: return o->wip_by_day.data();
        case 7: return o->busy_min.data();
        case 8: return o->down_min.data();
        case 9: return o->qlen_time.data();
        case 10: return o->setup_total.data();
        case 11: return o->released.data();
        case 12: return o->scalars.data();
    }
    return nullptr;
}

void fab_free(FabOut* o) { delete o; }
}
