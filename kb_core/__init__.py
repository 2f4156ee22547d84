"""mtus-kb: California MTUS treatment guidelines as an executable, cited, versioned knowledge base.

Typical use::

    import kb_core
    kb = kb_core.load()                       # plugins, guideline YAML, graph: checked once
    det = kb.evaluate(kb_core.load_case("examples/seed-work-conditioning.yaml"))
    print(det.decision, det.approved_quantity)   # non_certified 0
    print(kb_core.determination_json(det))       # canonical JSON with the receipt

``help()`` shows the calls above (``__all__``). Also importable from ``kb_core``:

- value types: ``Case``, ``Determination``, ``CriterionResult``, ``Receipt``, ``Decision``,
  ``Status``, ``Criterion``, ``DecisionRecord`` (what ``kb.decide_many`` returns per case);
- for plugin authors: ``Finding``, ``Evaluator``, ``evaluator``, ``hookimpl``
  (the contract is :mod:`kb_core.hookspecs`; the conformance kit :mod:`kb_core.testing`);
- errors (all ``KBError``): ``LocatedError``, ``CaseError``, ``GuidelineError``,
  ``GraphError``, ``PluginError``, ``EvaluatorError``, ``ExportError``.

Graph queries are in :mod:`kb_core.graph`, exports in :mod:`kb_core.export`.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from kb_core._case import Case, load_case, parse_case
from kb_core._kb import KnowledgeBase, load
from kb_core._model import (
    Criterion,
    CriterionResult,
    Decision,
    DecisionRecord,
    Determination,
    Evaluator,
    Finding,
    Receipt,
    Status,
    evaluator,
)
from kb_core._plugins import package_version as _package_version
from kb_core.errors import (
    CaseError,
    EvaluatorError,
    ExportError,
    GraphError,
    GuidelineError,
    KBError,
    LocatedError,
    PluginError,
)
from kb_core.hookspecs import hookimpl

if TYPE_CHECKING:
    from kb_core._render import determination_dict, determination_json, determination_text

__version__: str = _package_version()

# Imported when first asked for (PEP 562): the renderers are not needed to load a knowledge
# base, and importing them costs a cold start ~1.5 ms.
_ON_FIRST_USE = {
    "determination_dict": "kb_core._render",
    "determination_json": "kb_core._render",
    "determination_text": "kb_core._render",
}


def __getattr__(name: str) -> Any:
    module = _ON_FIRST_USE.get(name)
    if module is None:
        raise AttributeError(f"module 'kb_core' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # found directly from now on
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_ON_FIRST_USE})

# What help(kb_core) documents: the calls of everyday use. Everything listed in the module
# docstring is public too, and stays importable from kb_core.
__all__ = [
    "KBError",
    "KnowledgeBase",
    "__version__",
    "determination_dict",
    "determination_json",
    "determination_text",
    "evaluator",
    "load",
    "load_case",
    "parse_case",
]
