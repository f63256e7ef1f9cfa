"""One small exception tree; every message is built before raising.

Whatever a user typed may end up in a message, so :func:`shown` and :func:`clip` bound how much of it is echoed:
a 50 MB value gives a message of a few hundred characters that still says how long the value was.
"""

from __future__ import annotations

import reprlib
from dataclasses import dataclass

__all__ = [
    "Fab2TokenError",
    "InputIssue",
    "ScenarioError",
    "CatalogError",
    "ModelError",
    "OutputError",
    "OptionError",
    "MAX_ECHO_CHARS",
    "MAX_ISSUES_SHOWN",
    "shown",
    "clip",
]

# a value, key path or file name echoed in a message: enough for a long path or a typical YAML value on one or two
# screen lines, so a message stays readable whatever was typed
MAX_ECHO_CHARS = 300
# the "expected ..." part may legitimately list catalog names ("one of: H100, H200, ..."); it is text we wrote
# around names the user may have given, so it gets a larger bound than an echoed value
MAX_EXPECTED_CHARS = 2_000
# problems listed in one message: a screenful; the count of the rest is given
MAX_ISSUES_SHOWN = 50
# containers echoed element by element (reprlib never builds the whole repr of a huge list)
_MAX_ITEMS = 20

_repr = reprlib.Repr()
_repr.maxstring = MAX_ECHO_CHARS
_repr.maxother = MAX_ECHO_CHARS
_repr.maxlong = MAX_ECHO_CHARS
_repr.maxlevel = 6
for _attr in ("maxlist", "maxtuple", "maxdict", "maxset", "maxfrozenset", "maxdeque", "maxarray"):
    setattr(_repr, _attr, _MAX_ITEMS)


def clip(text: object, limit: int = MAX_ECHO_CHARS) -> str:
    """``str(text)``, cut to ``limit`` characters with ``... (N characters)`` when longer."""
    s = text if isinstance(text, str) else str(text)
    if len(s) <= limit:
        return s
    return f"{s[:limit]}... ({len(s):,} characters)"


def shown(value: object, limit: int = MAX_ECHO_CHARS) -> str:
    """``repr(value)`` bounded in length: a long string gives its first ``limit`` characters and its length.

    Short values come out exactly as ``repr`` writes them; containers are abbreviated element by element without
    building the whole ``repr`` of a huge value first.
    """
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return f"{value[:limit]!r}... ({len(value):,} characters)"
    if isinstance(value, bytes | bytearray) and len(value) > limit:
        return f"{bytes(value[:limit])!r}... ({len(value):,} bytes)"
    try:
        text = _repr.repr(value)
    except Exception:  # an object whose __repr__ fails must not hide the real problem
        text = f"<{type(value).__name__} object>"
    return clip(text, limit)


class Fab2TokenError(Exception):
    """Base class of every error fab2token raises on purpose."""


@dataclass(frozen=True)
class InputIssue:
    """One problem in an input file: where it is, what was found, what was expected."""

    file: str
    path: str
    value: object
    expected: str

    def __str__(self) -> str:
        where = f"{clip(self.file)}: {clip(self.path)}" if self.path else clip(self.file)
        return f"{where}: got {shown(self.value)}; {clip(self.expected, MAX_EXPECTED_CHARS)}"


class ScenarioError(Fab2TokenError):
    """A scenario file that cannot be used; carries every issue found, not only the first.

    The message lists the first :data:`MAX_ISSUES_SHOWN` issues and counts the rest; ``issues`` holds them all.
    """

    def __init__(self, issues: list[InputIssue]):
        self.issues = list(issues)
        n = len(self.issues)
        head = f"{n} problem{'s' if n != 1 else ''} in the input:"
        lines = [head, *(f"  - {i}" for i in self.issues[:MAX_ISSUES_SHOWN])]
        if n > MAX_ISSUES_SHOWN:
            lines.append(f"  ... and {n - MAX_ISSUES_SHOWN:,} more")
        super().__init__("\n".join(lines))


class CatalogError(Fab2TokenError):
    """A catalog table or a catalog lookup that cannot be satisfied."""


class ModelError(Fab2TokenError):
    """A physically impossible request to a model (e.g. a die larger than the reticle)."""


class OutputError(Fab2TokenError):
    """An output file (a report, a scenario written by ``plan``) that cannot or must not be written."""


class OptionError(ScenarioError):
    """An argument of a look-up function (and so an option of its command) that cannot be used; the same
    message form as a scenario's problems, naming the function, the argument and its flag."""
