"""The options of the quick look-ups (``train``, ``infer``, ``supply``, ``fabline``), checked where they are used.

The Python functions check their own arguments with :func:`check_options`; the CLI only passes its options on, so
no check lives in the CLI alone. A refused option is an :class:`~fab2token.errors.OptionError` naming the function,
the argument (and its command-line flag), the value and what was expected; the CLI exits 2 with it.

The bounds on magnitude are the scenario's too (:mod:`fab2token.scenario.fields` imports them from here), so a
value the scenario refuses is refused on the command line as well.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fab2token.errors import InputIssue, OptionError

__all__ = ["Number", "Choice", "check_options", "refuse", "MAX_MAGNITUDE", "MAX_COUNT"]

# Largest magnitude of any number in a scenario or an option. The largest real quantity is a training target's
# FLOPs (~1e26 for a frontier run); 1e30 is 10,000 times that, and products of a few such numbers (x price x hours)
# stay far below float64's 1.8e308, so no bounded input overflows to inf inside the engine.
MAX_MAGNITUDE = 1e30
# Largest whole-number count (accelerators, ports, tokens per request, hours): 2**53 is the last integer float64
# represents exactly, and the engine does its arithmetic in float64 (and int64 for month numbers).
MAX_COUNT = 2**53


@dataclass(frozen=True)
class Number:
    """A finite number in a range: ``low``/``high`` inclusive unless ``low_open``/``high_open``; ``whole`` for
    counts; ``optional``: ``None`` allowed (the function then uses its default or estimate)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    whole: bool = False
    optional: bool = False
    unit: str = ""

    def expected(self) -> str:
        kind = "a whole number" if self.whole else "a finite number"
        lo = "" if self.low is None else f"{'>' if self.low_open else '>='} {self.low:g}"
        hi = "" if self.high is None else f"{'<' if self.high_open else '<='} {self.high:g}"
        if self.low is not None and self.high is not None:
            bounds = f" in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"
        else:
            bounds = f" {lo or hi}" if lo or hi else ""
        unit = f" of {self.unit}" if self.unit else ""
        return f"{kind}{unit}{bounds}" + (" (or leave it out)" if self.optional else "")

    def fits(self, value: Any) -> bool:
        if value is None:
            return self.optional
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.whole and (isinstance(value, float) and not value.is_integer() or abs(value) > MAX_COUNT):
            return False
        if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or (value < self.high if self.high_open else value <= self.high)


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of names (``optional``: ``None`` allowed)."""

    names: tuple[str, ...]
    optional: bool = False

    def expected(self) -> str:
        return "one of " + ", ".join(self.names) + (" (or leave it out)" if self.optional else "")

    def fits(self, value: Any) -> bool:
        return (value is None and self.optional) or (isinstance(value, str) and value in self.names)


def _label(name: str, flags: Mapping[str, str]) -> str:
    flag = flags.get(name, "--" + name.replace("_", "-"))
    return f"{name} ({flag})" if flag else name


def check_options(
    where: str, values: Mapping[str, Any], rules: Mapping[str, Number | Choice], flags: Mapping[str, str] = {}
) -> None:
    """Raise :class:`OptionError` listing every value in ``values`` that its rule in ``rules`` refuses.

    ``where`` names the function (``train``); each problem names the argument and its command-line flag (from
    ``flags``, else ``--`` + the name with dashes), the value and what was expected.
    """
    issues = [
        InputIssue(where, _label(name, flags), values[name], rule.expected())
        for name, rule in rules.items()
        if name in values and not rule.fits(values[name])
    ]
    if issues:
        raise OptionError(issues)


def refuse(where: str, name: str, value: Any, expected: str, flags: Mapping[str, str] = {}) -> None:
    """Raise :class:`OptionError` for one argument whose value breaks a rule of its own (a divisibility, a
    relation between two arguments)."""
    raise OptionError([InputIssue(where, _label(name, flags), value, expected)])
