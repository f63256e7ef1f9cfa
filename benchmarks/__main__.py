"""Run every benchmark module in this folder: ``python -m benchmarks [NAME ...] [--record PAGE]`` (``make bench``
records ``docs/performance.md``, the documentation's performance page: each benchmark's printed figures with the
commit, the machine and the date they were measured on)."""

from __future__ import annotations

import contextlib
import datetime as _dt
import importlib
import io
import os
import pkgutil
import platform
import re
import subprocess
import sys
from pathlib import Path

_HEADER = """# Performance

The figures `make bench` printed the last time each benchmark was recorded (`python -m benchmarks [NAME ...] --record
docs/performance.md`; a run of some benchmarks replaces their sections and keeps the others): every speed goal of the
issues as a ratio measured side by side, with sizes, never as a timed test. Figures move with the machine; the ratios
are the ones to compare. Each section names the commit and date it was measured at.

- Last recorded: {date} UTC, commit `{commit}`
- Machine: {cores} cores, {machine}, Python {python}, numpy {numpy}
- Benchmarks on this page: {names}
"""

_SECTION = re.compile(
    r"\n## `(bench_\w+)`\n\n(?:_measured at commit `(\w+)`, ([^_]+) UTC_\n\n)?```text\n(.*?)\n```\n", re.S
)
_RECORDED = re.compile(r"Recorded: ([^\n]+?) UTC, commit `(\w+)`")


class _Tee(io.TextIOBase):
    """Writes go to the terminal and are kept."""

    def __init__(self, out: io.TextIOBase) -> None:
        self.out, self.kept = out, io.StringIO()

    def write(self, s: str) -> int:
        self.out.write(s)
        self.out.flush()
        return self.kept.write(s)


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _kept(page: Path) -> dict[str, tuple[str, str, str]]:
    """The sections of an earlier page, by benchmark: (commit, date, text); a section without its own commit line
    (a page of the older format) takes the page's."""
    if not page.exists():
        return {}
    text = page.read_text(encoding="utf-8")
    head = _RECORDED.search(text)
    date, commit = (head.group(1), head.group(2)) if head else ("unknown", "unknown")
    return {m[1]: (m[2] or commit, m[3] or date, m[4]) for m in _SECTION.finditer(text)}


def _page(sections: list[tuple[str, str]], kept: dict[str, tuple[str, str, str]] | None = None) -> str:
    import numpy as np

    now, commit = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M"), _commit()
    merged = dict(kept or {}) | {name: (commit, now, text.rstrip()) for name, text in sections}
    head = _HEADER.format(
        date=now,
        commit=commit,
        cores=os.cpu_count(),
        machine=platform.machine(),
        python=platform.python_version(),
        numpy=np.__version__,
        names=", ".join(f"`{n}`" for n in sorted(merged)),
    )
    body = "".join(
        f"\n## `{name}`\n\n_measured at commit `{c}`, {d} UTC_\n\n```text\n{t}\n```\n"
        for name, (c, d, t) in sorted(merged.items())
    )
    return head + body


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    record = None
    if "--record" in args:
        k = args.index("--record")
        if k + 1 >= len(args):
            print("--record needs a page to write (e.g. docs/performance.md)", file=sys.stderr)
            return 2
        record = Path(args[k + 1])
        del args[k : k + 2]
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    sections = []
    for name in names:
        if args and not any(w in name for w in args):
            continue
        print(f"== {name}")
        tee = _Tee(sys.stdout)
        with contextlib.redirect_stdout(tee):
            importlib.import_module(f"benchmarks.{name}").main()
        sections.append((name, tee.kept.getvalue()))
        print()
    if record is not None:
        tmp = record.with_name(record.name + ".tmp")
        tmp.write_text(_page(sections, _kept(record)), encoding="utf-8")
        tmp.replace(record)  # atomically: a benchmark that fails leaves the last page as it was
        print(f"recorded in {record}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
