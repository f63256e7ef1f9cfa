// The C ABI of the fab line's C++ event loop (kernel.cpp) and the pieces it is built from: the inputs as flat typed
// arrays (FabIn, filled by native.py), the results (FabOut), CPython's random number generator, and the event and
// queue entries with their total orders.
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

using i64 = int64_t;

extern "C" {

struct FabIn {
    i64 nf, nt, nroutes, ns, norders, nwip, ngroups, nnames;
    double horizon, transport_lo, transport_span;
    i64 rule;  // 0 fifo, 1 edd, 2 spt, 3 cr
    i64 downs_per_group, preempt;
    // families (nf)
    const i64 *f_tools, *f_batching, *f_has_setups, *f_has_down, *f_pm_off;  // f_pm_off: nf + 1
    const double *f_load, *f_mttf, *f_mttr;
    // PMs, by family (f_pm_off)
    const i64* pm_by_pieces;
    const double *pm_first, *pm_every, *pm_mean, *pm_hw;
    // steps, route r's at r_off[r] .. r_off[r + 1]
    const i64 *r_off, *s_fam, *s_per, *s_bmin, *s_bmax, *s_setup, *s_rwk;
    const double *s_lo, *s_span, *s_stime, *s_pint, *s_bint, *s_samp, *s_rwkp, *s_remaining;
    const double* matrix;  // (ns + 1) x ns: [from + 1][to], NaN where the setup matrix has no entry
    // station groups' failure processes (group mode)
    const double *g_mttf, *g_mttr;
    const i64 *g_off, *g_tools;
    // orders
    const i64 *o_route, *o_prio, *o_pieces, *o_count, *o_name;
    const double *o_start, *o_interval, *o_due_offset;
    // initial WIP
    const i64 *w_route, *w_step, *w_prio, *w_pieces, *w_name;
    const double* w_due;
    // random.Random(seed).getstate()[1]: 624 words and the index
    const uint32_t* mt_state;
    i64 mt_index;
    int (*progress)(double);  // called each simulated day; a nonzero return stops the run (Ctrl-C, an alarm)
};
}

namespace {

enum { RELEASE, ARRIVE, LOT_DONE, TOOL_FREE, DOWN, UP, PM, DAY };

struct Rng {  // CPython's _randommodule.c
    uint32_t mt[624];
    int index;
    uint32_t next() {
        static const uint32_t mag01[2] = {0x0U, 0x9908b0dfU};
        uint32_t y;
        if (index >= 624) {
            int kk;
            for (kk = 0; kk < 624 - 397; kk++) {
                y = (mt[kk] & 0x80000000U) | (mt[kk + 1] & 0x7fffffffU);
                mt[kk] = mt[kk + 397] ^ (y >> 1) ^ mag01[y & 0x1U];
            }
            for (; kk < 623; kk++) {
                y = (mt[kk] & 0x80000000U) | (mt[kk + 1] & 0x7fffffffU);
                mt[kk] = mt[kk + (397 - 624)] ^ (y >> 1) ^ mag01[y & 0x1U];
            }
            y = (mt[623] & 0x80000000U) | (mt[0] & 0x7fffffffU);
            mt[623] = mt[396] ^ (y >> 1) ^ mag01[y & 0x1U];
            index = 0;
        }
        y = mt[index++];
        y ^= (y >> 11);
        y ^= (y << 7) & 0x9d2c5680U;
        y ^= (y << 15) & 0xefc60000U;
        y ^= (y >> 18);
        return y;
    }
    double random() {
        uint32_t a = next() >> 5;
        uint32_t b = next() >> 6;
        return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
    }
    double uniform(double a, double b) { return a + (b - a) * random(); }
    double expovariate(double lambd) { return -std::log(1.0 - random()) / lambd; }
};

struct Ev {
    double when;
    i64 seq;
    int code;
    i64 arg;
};
struct EvLater {  // a min-heap on (when, seq) with std's max-heap functions
    bool operator()(const Ev& a, const Ev& b) const { return a.when > b.when || (a.when == b.when && a.seq > b.seq); }
};

struct QEntry {  // (-priority, key, lot)
    i64 negprio;
    double key;
    i64 lot;
};
bool q_less(const QEntry& a, const QEntry& b) {
    if (a.negprio != b.negprio) return a.negprio < b.negprio;
    if (a.key != b.key) return a.key < b.key;
    return a.lot < b.lot;
}
struct QLater {
    bool operator()(const QEntry& a, const QEntry& b) const { return q_less(b, a); }
};

struct SEntry {  // [-priority, key, lot, alive], shared by a setup family's two heaps
    i64 negprio;
    double key;
    i64 lot;
    bool alive;
};

struct Done {
    i64 name, prio;
    double release, finish, due;
    i64 pieces;
};

struct BQ {
    std::vector<i64> lots;
    i64 wafers = 0;
};

}  // namespace

struct FabOut {
    std::string error;
    std::vector<i64> c_name, c_prio, c_pieces, wip_by_day, released;
    std::vector<double> c_release, c_finish, c_due, busy_min, down_min, qlen_time, setup_total;
    std::vector<double> scalars;  // events processed, end
};
