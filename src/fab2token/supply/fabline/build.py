"""Compile the fab line's event loop (:mod:`.kernel`) with Cython: ``python -m fab2token.supply.fabline.build``.

The same Python source is compiled, unchanged but for a stamp of its SHA-256, into ``_kernel_c`` beside it;
:func:`~fab2token.supply.fabline.simulate_fab` uses it only while that stamp matches ``kernel.py``, so an edit to the
kernel can never run stale compiled code. Needs Cython and a C compiler; without them fab2token runs the plain
Python kernel and gives the same results. Exit status 0 when built, 1 when not (with the reason).
"""

from __future__ import annotations

import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path

from fab2token.supply.fabline.engine import compiled_kernel, kernel_sha256

HERE = Path(__file__).resolve().parent


def build(quiet: bool = True) -> Path:
    """Build ``_kernel_c`` next to ``kernel.py``; returns the path of the extension module."""
    from Cython.Build import cythonize  # optional build-time dependency
    from setuptools import Distribution, Extension
    from setuptools.command.build_ext import build_ext

    with tempfile.TemporaryDirectory() as tmp:
        pkg = Path(tmp) / "fab2token" / "supply" / "fabline"
        pkg.mkdir(parents=True)
        for init in (pkg.parent.parent / "__init__.py", pkg.parent / "__init__.py", pkg / "__init__.py"):
            init.write_text("")
        src = pkg / "_kernel_c.py"
        src.write_text((HERE / "kernel.py").read_text() + f'\nSOURCE_SHA256 = "{kernel_sha256()}"\n')
        ext = Extension("fab2token.supply.fabline._kernel_c", [str(src)])
        # infer_types: C types for locals Cython can prove (floats in the arithmetic); nothing else is changed
        mods = cythonize(
            [ext],
            compiler_directives={"language_level": 3, "infer_types": True, "binding": False},
            quiet=quiet,
            build_dir=tmp,
        )
        dist = Distribution({"ext_modules": mods})
        cmd = build_ext(dist)
        cmd.build_lib = str(Path(tmp) / "lib")
        cmd.build_temp = str(Path(tmp) / "tmp")
        cmd.ensure_finalized()
        cmd.run()
        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        built = Path(cmd.build_lib) / "fab2token" / "supply" / "fabline" / f"_kernel_c{suffix}"
        for old in HERE.glob("_kernel_c*.so"):
            old.unlink()
        dest = HERE / built.name
        shutil.copy2(built, dest)
    return dest


def main() -> int:
    try:
        path = build()
    except Exception as exc:  # no Cython, no compiler: say so; the plain kernel still works
        print(f"compiled fab line kernel not built ({type(exc).__name__}: {exc}); the plain Python kernel is used")
        return 1
    ok = compiled_kernel() is not None
    print(f"built {path.name}" + ("" if ok else ", but it does not load: the plain Python kernel is used"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
