"""Compile the fab line's C++ event loop (``kernel.cpp``): ``python -m fab2token.supply.fabline.build``.

``kernel.cpp`` is compiled with the C++ compiler (``$CXX``, else ``c++`` or ``g++``) into ``_kernel_native.so``
beside it, a plain shared library with a C ABI (no Python headers) stamped with the source's SHA-256;
:func:`~fab2token.supply.fabline.simulate_fab` uses it only while that stamp matches ``kernel.cpp`` (:mod:`.native`),
so an edit can never run stale compiled code. ``-ffp-contract=off`` keeps every multiply and add apart, as Python
computes them, so the results are bit-identical to the plain Python kernel. Without a compiler fab2token runs the
plain Python kernel and gives the same results, about 30x slower. Exit status 0 when built, 1 when not (with the
reason).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from fab2token.supply.fabline import native

FLAGS = ("-O2", "-std=c++17", "-ffp-contract=off", "-fPIC", "-shared")


def compiler() -> str:
    """The C++ compiler to use: ``$CXX``, else the first of ``c++``, ``g++``, ``clang++`` on the PATH."""
    found = os.environ.get("CXX") or next((c for c in ("c++", "g++", "clang++") if shutil.which(c)), None)
    if not found:
        raise RuntimeError("no C++ compiler found (set CXX, or install g++)")
    return found


def build() -> Path:
    """Build ``_kernel_native.so`` next to ``kernel.cpp``; returns its path."""
    stamp = f'-DFAB_SOURCE_SHA256="{native.source_sha256()}"'
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / native.LIBRARY.name
        cmd = [compiler(), *FLAGS, stamp, "-o", str(out), str(native.SOURCE)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[:1])} failed: {done.stderr.strip()[-2000:]}")
        staged = native.LIBRARY.with_suffix(".so.new")
        shutil.copy2(out, staged)
        os.replace(staged, native.LIBRARY)  # a new file, never one a running process has mapped rewritten
    native._library.cache_clear()
    return native.LIBRARY


def main() -> int:
    try:
        path = build()
    except Exception as exc:  # no compiler, a failed compile: say so; the plain kernel still works
        print(f"compiled fab line kernel not built ({type(exc).__name__}: {exc}); the plain Python kernel is used")
        return 1
    ok = native.load() is not None
    print(f"built {path.name}" + ("" if ok else ", but it does not load: the plain Python kernel is used"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
