"""YAML text -> Python data, bounded: what a scenario file can make the parser do is limited before it is done.

PyYAML's ``safe_load`` refuses code but not work: a 400-byte file of nested aliases ("billion laughs") expands to
billions of values, 50,000 nested ``[`` exhaust Python's stack, a repeated key silently replaces the first. Here the
document is composed into nodes (with a nesting bound), the nodes are measured as they would be expanded (aliases
counted each time they are used) and checked for repeated keys, and only then built into Python objects.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from fab2token.errors import InputIssue, ScenarioError, clip

__all__ = ["MAX_YAML_DEPTH", "MAX_YAML_NODES", "load_yaml"]

# Nesting of collections in a scenario. The deepest real path is ~7 levels
# (fleet[0].supply.fab.wafer_starts[0].from); 64 leaves room for any layout and stays far below Python's recursion
# limit of 1,000 frames (PyYAML's composer takes three frames a level).
MAX_YAML_DEPTH = 64
# Values (YAML nodes: scalars, lists, mappings) with every alias expanded where it is used. A 5,000-site scenario
# written in full has ~185,000; 500,000 is 2.7 times that. A flat file of that many values parses in ~4 s at
# ~300 MB peak (measured: 1,000,000 took 8 s and 630 MB), while an alias bomb of ten nested lists of ten expands
# to 10**10 and is refused after counting, before anything is built.
MAX_YAML_NODES = 500_000

_MERGE = "tag:yaml.org,2002:merge"


class _Refused(Exception):
    def __init__(self, mark: Any, value: str, expected: str):
        super().__init__(value)
        self.mark, self.value, self.expected = mark, value, expected


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def _base_loader() -> type:
    """SafeLoader's composer and constructor on libyaml's parser when PyYAML has it (three times faster on large
    files, the same events), else the pure-Python SafeLoader. The composer stays Python so that it can be bounded."""
    try:
        from yaml._yaml import CParser
    except ImportError:  # PyYAML built without libyaml
        return yaml.SafeLoader

    class _CSafeComposer(Composer, CParser, SafeConstructor, Resolver):  # type: ignore[misc]
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

    return _CSafeComposer


class _Loader(_base_loader()):  # type: ignore[misc]
    """A safe loader that refuses nesting beyond :data:`MAX_YAML_DEPTH` and more than :data:`MAX_YAML_NODES` nodes
    while composing, and turns a scalar that cannot be built (``2026-02-30``, an integer of 5,000 digits) into a
    YAML error at its position."""

    _depth = 0
    _nodes = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        self._nodes += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                mark = self.peek_event().start_mark
                raise _Refused(mark, f"more than {MAX_YAML_DEPTH} nested levels", _DEPTH_EXPECTED)
            if self._nodes > MAX_YAML_NODES:
                mark = self.peek_event().start_mark
                raise _Refused(mark, f"more than {MAX_YAML_NODES:,} values", _NODES_EXPECTED)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(None, None, str(exc), node.start_mark) from None


_DEPTH_EXPECTED = f"at most {MAX_YAML_DEPTH} levels of nested lists and mappings"
_NODES_EXPECTED = f"at most {MAX_YAML_NODES:,} values, each use of an alias (*name) counted (an alias bomb?)"


class _Measure:
    """One walk over the composed nodes: expanded size and depth (each node measured once, aliases reused), and
    repeated keys in every mapping (a merge ``<<`` may be overridden: that is what it is for). Paths are kept as
    ``(parent, part)`` pairs and written out only for a problem, so long keys cost nothing per node."""

    def __init__(self, loader: _Loader):
        self.loader = loader
        self.memo: dict[int, tuple[int, int]] = {}
        self.visiting: set[int] = set()
        self.duplicates: list[tuple[str, Any, int]] = []

    def size(self, node: Any, path: Any, level: int) -> tuple[int, int]:
        key = id(node)
        if key in self.memo:
            return self.memo[key]
        if key in self.visiting:
            raise _Refused(node.start_mark, "an alias used inside its own anchor", "an alias to a finished value")
        if level > MAX_YAML_DEPTH:
            raise _Refused(
                node.start_mark, f"more than {MAX_YAML_DEPTH} nested levels with aliases expanded", _DEPTH_EXPECTED
            )
        self.visiting.add(key)
        total, depth = 1, 0
        for child, child_path in self._children(node, path):
            n, d = self.size(child, child_path, level + 1)
            total, depth = total + n, max(depth, d)
            if total > MAX_YAML_NODES:
                raise _Refused(
                    node.start_mark,
                    f"more than {MAX_YAML_NODES:,} values with aliases (*name) expanded",
                    _NODES_EXPECTED,
                )
        self.visiting.discard(key)
        self.memo[key] = (total, depth + 1)
        return self.memo[key]

    def _children(self, node: Any, path: Any) -> list[tuple[Any, Any]]:
        if isinstance(node, yaml.SequenceNode):
            return [(v, (path, i)) for i, v in enumerate(node.value)]
        if not isinstance(node, yaml.MappingNode):
            return []
        out: list[tuple[Any, Any]] = []
        seen: dict[Any, int] = {}
        for k, v in node.value:
            name = self.loader.construct_object(k) if isinstance(k, yaml.ScalarNode) and k.tag != _MERGE else None
            child = (path, name)
            line = k.start_mark.line + 1
            if name is not None:
                try:
                    first = seen.get(name)
                    if first is None:
                        seen[name] = line
                except TypeError:  # an unhashable key: the constructor reports it
                    first = None
                if first is not None:
                    self.duplicates.append((f"{_path(child)} (line {line})", name, first))
            out += [(k, child), (v, child)]
        return out


def _path(chain: Any) -> str:
    """``sites[0].pue`` from the ``(parent, part)`` chain (bounded: a long key is cut)."""
    parts: list[Any] = []
    while chain:
        chain, part = chain
        parts.append(part)
    out = ""
    for part in reversed(parts):
        out += (
            f"[{part}]"
            if isinstance(part, int) and not isinstance(part, bool)
            else ("." if out else "") + clip(part, 60)
        )
    return out


def load_yaml(text: str, file: str) -> Any:
    """The data of a single YAML document, or ScenarioError naming the file, the position and the limit.

    Raises
    ------
    ScenarioError
        Malformed YAML; nesting deeper than :data:`MAX_YAML_DEPTH`; more than :data:`MAX_YAML_NODES` values with
        aliases expanded; a key given twice in one mapping (each repeated key is listed with both lines).
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        measure = _Measure(loader)
        measure.size(node, None, 1)
        if measure.duplicates:
            raise ScenarioError(
                [
                    InputIssue(
                        file,
                        where,
                        key,
                        f"each key once in a mapping (it is given at line {first} already: a "
                        "repeated key would silently replace the first)",
                    )
                    for where, key, first in measure.duplicates
                ]
            )
        return loader.construct_document(node)
    except _Refused as exc:
        raise ScenarioError([InputIssue(file, _where(exc.mark), exc.value, exc.expected)]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        expected = _DEPTH_EXPECTED if "nesting depth" in str(problem) else "well-formed YAML"  # libyaml's own bound
        raise ScenarioError([InputIssue(file, _where(mark), problem, expected)]) from None
    finally:
        loader.dispose()
