"""``python -m fab2token``: the ``fab2token`` command (used where the console script may not be on PATH, e.g. the
dashboard's background jobs)."""

from fab2token.cli import main

if __name__ == "__main__":
    main()
