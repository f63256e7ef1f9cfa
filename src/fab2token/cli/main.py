"""The ``fab2token`` command: a thin shell that parses, calls the Python API and prints.

Commands live by kind in :mod:`.runs`, :mod:`.lookups`, :mod:`.planning`, :mod:`.catalog`, :mod:`.stored` (plans,
compare) and :mod:`.serve` (the dashboard); importing them registers them on :data:`app`.
"""

from __future__ import annotations

# the commands register in the order they are listed by --help: runs first, then look-ups, planning, catalog
from fab2token.cli import runs  # noqa: F401

from fab2token.cli import sweeps  # noqa: F401  # isort: skip
from fab2token.cli import lookups  # noqa: F401  # isort: skip
from fab2token.cli import planning  # noqa: F401  # isort: skip
from fab2token.cli import race  # noqa: F401  # isort: skip
from fab2token.cli import operate  # noqa: F401  # isort: skip
from fab2token.cli import catalog  # noqa: F401  # isort: skip
from fab2token.cli import stored  # noqa: F401  # isort: skip
from fab2token.cli import serve  # noqa: F401  # isort: skip
from fab2token.cli.common import app

__all__ = ["app"]

if __name__ == "__main__":  # pragma: no cover
    app()
