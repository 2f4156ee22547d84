"""The exception tree. Every error kb_core raises is a :class:`KBError`.

Clinical outcomes (a criterion not met, a fact not documented) are results, never
exceptions: exceptions are for bad files, bad cases and bad plugins.
"""

from __future__ import annotations

from pathlib import Path


class KBError(Exception):
    """Base class of every error raised by kb_core."""


class LocatedError(KBError, ValueError):
    """An input file is wrong at a known place.

    Attributes:
        path: the file (or ``"<string>"`` for text given directly).
        line: 1-based line, or ``None`` when the place has no line (e.g. a missing key).
        where: the key path inside the document, e.g. ``treatments.work_conditioning``.
        problem: what is wrong.
        fix: how to make it right.
    """

    kind = "input"

    def __init__(
        self,
        problem: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        where: str = "",
        fix: str = "",
    ) -> None:
        self.path = str(path) if path is not None else "<string>"
        self.line = line
        self.where = where
        self.problem = problem
        self.fix = fix
        super().__init__(self._message())

    def _message(self) -> str:
        place = self.path if self.line is None else f"{self.path}:{self.line}"
        at = f" at '{self.where}'" if self.where else ""
        fix = f" Fix: {self.fix}" if self.fix else ""
        return f"{place}: {self.kind} error{at}: {self.problem}.{fix}"


class GuidelineError(LocatedError):
    """A guideline YAML file is malformed or inconsistent."""

    kind = "guideline"


class CaseError(LocatedError):
    """A case file (or case mapping) is malformed or names something unknown."""

    kind = "case"


class GraphError(GuidelineError):
    """The guidelines load one by one but do not fit together (dangling reference, cycle)."""

    kind = "graph"


class PluginError(KBError):
    """A plugin broke the contract in :mod:`kb_core.hookspecs`.

    Attributes:
        plugin: the plugin's name (its entry-point name, or its module).
    """

    def __init__(self, plugin: str, problem: str, fix: str = "") -> None:
        self.plugin = plugin
        self.problem = problem
        self.fix = fix
        super().__init__(f"plugin '{plugin}': {problem}." + (f" Fix: {fix}" if fix else ""))


class EvaluatorError(PluginError):
    """An evaluator raised or returned something other than a Finding during evaluation."""


class ExportError(KBError):
    """A graph export could not be produced (e.g. Graphviz is not installed)."""
