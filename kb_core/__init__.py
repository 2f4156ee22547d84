"""mtus-kb: California MTUS treatment guidelines as an executable, cited, versioned knowledge base.

Typical use::

    import kb_core
    kb = kb_core.load()
    det = kb.evaluate(kb_core.load_case("examples/seed-work-conditioning.yaml"))
    print(det.decision, [r.status for r in det.results])
"""

from kb_core._case import Case, load_case, parse_case
from kb_core._kb import KnowledgeBase, load
from kb_core._model import (
    Criterion,
    CriterionResult,
    Decision,
    Determination,
    Evaluator,
    Finding,
    Receipt,
    Status,
    evaluator,
)
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

__all__ = [
    "Case",
    "CaseError",
    "Criterion",
    "CriterionResult",
    "Decision",
    "Determination",
    "Evaluator",
    "EvaluatorError",
    "ExportError",
    "Finding",
    "GraphError",
    "GuidelineError",
    "KBError",
    "KnowledgeBase",
    "LocatedError",
    "PluginError",
    "Receipt",
    "Status",
    "determination_dict",
    "determination_json",
    "determination_text",
    "evaluator",
    "hookimpl",
    "load",
    "load_case",
    "parse_case",
]
