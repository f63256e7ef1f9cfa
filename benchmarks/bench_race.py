"""The race: the allocation rules on whole arrays beside a plain per-month, per-player Python loop of the same rule
(measured side by side, same inputs, the answers checked equal), and the wall time of the bundled race."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from benchmarks.common import paired
from fab2token.race.allocate import allocate

ROOT = Path(__file__).resolve().parents[1]


def _loop(rule: str, cap, req, contract, share, bid):
    """The same rules, one month at a time, one player at a time (the baseline)."""
    months, players = req.shape
    out = np.zeros_like(req)
    for m in range(months):
        owed = [min(contract[m, p], req[m, p]) for p in range(players)]
        total = sum(owed)
        scale = cap[m] / total if total > cap[m] else 1.0
        got = [o * scale for o in owed]
        left = max(cap[m] - sum(got), 0.0)
        rest = [req[m, p] - got[p] for p in range(players)]
        if rule == "pro-rata":
            t = sum(rest)
            s = left / t if t > left else 1.0
            more = [r * s for r in rest]
        elif rule == "market":
            more = [0.0] * players
            for b in sorted(set(bid), reverse=True):
                group = [p for p in range(players) if bid[p] == b]
                asked = sum(rest[p] for p in group)
                give = min(left, asked)
                for p in group:
                    more[p] = rest[p] * give / asked if asked > 0 else 0.0
                left -= give
        else:  # shares: raise the level until the capacity is used
            more = [0.0] * players
            active = [p for p in range(players) if rest[p] > 0]
            while active and left > 1e-12:
                w = sum(share[p] for p in active)
                level = left / w
                done = [p for p in active if rest[p] - more[p] <= share[p] * level]
                if not done:
                    for p in active:
                        more[p] += share[p] * level
                    left = 0.0
                    break
                for p in done:
                    left -= rest[p] - more[p]
                    more[p] = rest[p]
                active = [p for p in active if p not in done]
        out[m] = [g + x for g, x in zip(got, more, strict=True)]
    return out


def main() -> None:
    rng = np.random.default_rng(0)
    months, players = 1200, 8
    cap = rng.uniform(0, 1e5, months)
    req = rng.uniform(0, 4e4, (months, players))
    contract = rng.uniform(0, 5e3, (months, players))
    share = rng.uniform(0.5, 2.0, players)
    bid = rng.choice([5.0, 10.0, 20.0], players)
    for rule in ("pro-rata", "shares", "market"):
        fast = allocate(rule, cap, req, contract, share, bid)[0]
        slow = _loop(rule, cap, req, contract, share, bid)
        assert np.allclose(fast, slow, rtol=1e-9, atol=1e-6), rule
        p = paired(
            lambda r=rule: allocate(r, cap, req, contract, share, bid),
            lambda r=rule: _loop(r, cap, req, contract, share, bid),
            rounds=5,
        )
        cells = months * players
        print(f"allocate {rule}, {months} months x {players} players: " + p.text("arrays", "Python loop"))
        print(f"  arrays: {cells / min(p.a_s) / 1e6:.1f} M player-months per second")
    from fab2token.race.run import run_race
    from fab2token.scenario.raceload import load_race

    t0 = time.perf_counter()
    loaded = load_race(ROOT / "examples" / "race.yaml")
    t1 = time.perf_counter()
    run_race(loaded, counterfactuals=False)
    t2 = time.perf_counter()
    print(
        f"examples/race.yaml (3 players x 60 months): load {t1 - t0:.2f} s, race {t2 - t1:.2f} s (one engine run per player)"
    )
