"""The plugin contract: every hook a guideline plugin may implement.

A plugin is a module (or object) with functions decorated ``@kb_core.hookimpl`` and named
after the specs below. Publish it under the ``mtus`` entry-point group::

    [project.entry-points.mtus]
    biofeedback = "mtus_kb_biofeedback"

The first-party treatments (``kb_plugins.*``) are loaded exactly this way. Hooks take
keyword arguments only, so new arguments can be added later without breaking plugins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from kb_core._case import Case
    from kb_core._model import CriterionResult, Decision, Evaluator

PROJECT = "mtus"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def mtus_guideline_files() -> Iterable[Path | Any]:
    """Return the guideline YAML files this plugin contributes.

    Each item is a ``pathlib.Path`` or an ``importlib.resources`` Traversable (use
    ``importlib.resources.files("your_package") / "x.yaml"`` so it works from a wheel).
    Called once while the knowledge base loads. The files hold the data: treatments,
    criteria with citations, parameters with units and evidence tier, definitions.
    They are validated against ``kb_core/schemas/guideline.schema.json``; an error names
    the file and line.
    """


@hookspec
def mtus_evaluators() -> Iterable[Evaluator]:
    """Return the evaluators this plugin implements, each made with ``@kb_core.evaluator(id)``.

    An evaluator is ``func(case, params) -> Finding``. It must be deterministic, must not
    change the case, and must read thresholds only from ``params`` (the parameters its
    criterion lists in YAML), never from literals. Every criterion declared in the
    plugin's YAML needs exactly one evaluator; an evaluator for an undeclared criterion,
    a second evaluator for one criterion, or a criterion without one is an error at load
    time that names the plugin.
    """


@hookspec(firstresult=True)
def mtus_combine(
    treatment: str, results: Sequence[CriterionResult], case: Case
) -> tuple[Decision, int | None, str] | None:
    """Fold one treatment's criterion results into ``(decision, approved_quantity, summary)``.

    Stops at the first non-None result. kb_core's own rule (any admission criterion not
    met or not documented: non-certified; only quantity criteria not met with an
    approvable quantity: modified; otherwise certified) is a ``trylast``
    implementation, so a plugin may override it for its treatment by returning a
    result, or return ``None`` to leave the decision to the default.
    """


@hookspec
def mtus_sample_cases() -> Iterable[Path | Any]:
    """Return sample case files (YAML or JSON, each with an ``expected:`` block) for the
    treatments this plugin encodes.

    Optional. ``mtus plugins`` and the conformance kit (:func:`kb_core.testing.check_plugin`)
    run them; each must reach its expected outcome or carry ``known_disagreement``.
    """


@hookspec
def mtus_plugin_info() -> Mapping[str, Any] | None:
    """Return facts about the plugin itself, e.g. ``{"requires_core": ">=0.1,<1"}``.

    Optional. ``requires_core`` is a version specifier the installed kb_core must
    satisfy; otherwise the plugin is refused at load with a message naming the version
    it needs.
    """
