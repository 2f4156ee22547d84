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
from kb_core._render import determination_json, determination_dict, determination_text
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

__version__: str = _package_version()

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
