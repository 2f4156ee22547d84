"""Agreement between the engine and expected outcomes (real IMR decisions or authored cases).

An IMR outcome of ``upheld`` means the request as submitted is not certified in full, so
the engine agrees when it decides ``non_certified`` or ``modified``; ``overturned``
agrees with ``certified``. ``no_criteria`` and ``error`` agree with neither.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb_core._case import Case, Expected, load_case
from kb_core._kb import KnowledgeBase
from kb_core._model import Decision, Determination, Status
from kb_core._yaml import data_files
from kb_core.errors import KBError

FAILING = (Status.NOT_MET, Status.NOT_DOCUMENTED)


def imr_view(decision: Decision) -> str:
    """What an IMR decision on the request as submitted would be: upheld, overturned or none."""
    if decision is Decision.CERTIFIED:
        return "overturned"
    if decision in (Decision.NON_CERTIFIED, Decision.MODIFIED):
        return "upheld"
    return "no decision"


def failed_criteria(det: Determination) -> set[str]:
    return {r.criterion for r in det.results if r.status in FAILING}


def mismatches(det: Determination, expected: Expected) -> list[str]:
    """Every way the determination differs from what the case expects (empty: agreement)."""
    out = []
    if expected.decision is not None and det.decision.value != expected.decision:
        out.append(f"decision {det.decision.value}, expected {expected.decision}")
    if expected.approved_quantity is not None and det.approved_quantity != expected.approved_quantity:
        out.append(f"approved quantity {det.approved_quantity}, expected {expected.approved_quantity}")
    if expected.failed_criteria is not None and failed_criteria(det) != set(expected.failed_criteria):
        out.append(f"failed criteria {sorted(failed_criteria(det))}, expected {sorted(expected.failed_criteria)}")
    if expected.imr_outcome is not None and imr_view(det.decision) != expected.imr_outcome:
        out.append(f"IMR {expected.imr_outcome}, engine's decision {det.decision.value} means {imr_view(det.decision)}")
    return out


@dataclass
class CaseOutcome:
    path: str
    case: Case | None  # None: the file could not be read as a case
    determination: Determination | None  # None: the case could not be evaluated
    mismatches: list[str]

    @property
    def expected(self) -> Expected | None:
        return self.case.expected if self.case else None

    @property
    def treatment(self) -> str:
        if self.determination:
            return self.determination.treatment
        return self.case.request.treatment if self.case else "unreadable"

    @property
    def decision(self) -> str:
        return self.determination.decision.value if self.determination else "error"

    @property
    def agrees(self) -> bool:
        return not self.mismatches

    def as_dict(self) -> dict[str, Any]:
        det = self.determination
        expected = self.expected or Expected()
        return {
            "path": self.path,
            "case_id": self.case.case_id if self.case else None,
            "treatment": self.treatment,
            "decision": self.decision,
            "approved_quantity": det.approved_quantity if det else None,
            "expected_decision": expected.decision,
            "expected_imr_outcome": expected.imr_outcome,
            "agrees": self.agrees,
            "mismatches": self.mismatches,
            "known_disagreement": expected.known_disagreement,
            "deciding_criteria": [
                {"criterion": r.criterion, "status": r.status.value, "reason": r.reason, "citation": r.citation}
                for r in (det.results if det else ()) if r.status in FAILING or r.status is Status.ERROR
            ],
        }


@dataclass
class AgreementReport:
    outcomes: list[CaseOutcome] = field(default_factory=list)

    def _scored(self, imr_only: bool) -> list[CaseOutcome]:
        # A file that could not be read or evaluated counts as a disagreement, never as unscored.
        return [o for o in self.outcomes if o.determination is None or (o.expected and (o.expected.imr_outcome or not imr_only))]

    def summary(self) -> dict[str, Any]:
        imr = [o for o in self.outcomes if o.expected and o.expected.imr_outcome]
        confusion: Counter[tuple[str, str]] = Counter(
            (o.expected.imr_outcome or "", _imr_view_of(o)) for o in imr if o.expected
        )
        per_treatment: dict[str, dict[str, int]] = {}
        for o in self._scored(imr_only=False):
            row = per_treatment.setdefault(o.treatment, {"cases": 0, "agree": 0})
            row["cases"] += 1
            row["agree"] += o.agrees
        by_outcome = {
            outcome: {"cases": sum(1 for o in imr if o.expected and o.expected.imr_outcome == outcome),
                      "agree": sum(1 for o in imr if o.expected and o.expected.imr_outcome == outcome and o.agrees)}
            for outcome in ("upheld", "overturned")
        }
        scored = self._scored(imr_only=False)
        return {
            "cases": len(scored),
            "agree": sum(o.agrees for o in scored),
            "agreement": _rate(sum(o.agrees for o in scored), len(scored)),
            "imr_cases": len(imr),
            "imr_agree": sum(o.agrees for o in imr),
            "imr_agreement": _rate(sum(o.agrees for o in imr), len(imr)),
            "imr_by_outcome": by_outcome,
            "known_disagreements": sum(1 for o in scored if o.expected and o.expected.known_disagreement),
            "per_treatment": dict(sorted(per_treatment.items())),
            "confusion_matrix": {
                expected: {engine: confusion[(expected, engine)] for engine in ("upheld", "overturned", "no decision")}
                for expected in ("upheld", "overturned")
            },
            "unscored": len(self.outcomes) - len(scored),
            "could_not_be_evaluated": sum(1 for o in self.outcomes if o.determination is None),
        }

    def as_dict(self) -> dict[str, Any]:
        return {"summary": self.summary(), "cases": [o.as_dict() for o in self.outcomes]}

    def text(self) -> str:
        s = self.summary()
        lines = [
            f"Agreement: {s['agree']}/{s['cases']} cases ({s['agreement']})",
            f"Real IMR outcomes: {s['imr_agree']}/{s['imr_cases']} ({s['imr_agreement']});"
            f" upheld {s['imr_by_outcome']['upheld']['agree']}/{s['imr_by_outcome']['upheld']['cases']},"
            f" overturned {s['imr_by_outcome']['overturned']['agree']}/{s['imr_by_outcome']['overturned']['cases']}",
            f"Known disagreements (marked in the case files): {s['known_disagreements']}",
            f"Files that could not be evaluated (counted as disagreements): {s['could_not_be_evaluated']}",
            "",
            "Per treatment:",
        ]
        lines += [f"  {t:<22} {row['agree']}/{row['cases']}" for t, row in s["per_treatment"].items()]
        lines += ["", "Confusion matrix (rows: IMR outcome; columns: the engine's decision read as an IMR outcome):",
                  f"  {'':<12}{'upheld':>10}{'overturned':>12}{'no decision':>13}"]
        for expected, row in s["confusion_matrix"].items():
            lines.append(f"  {expected:<12}{row['upheld']:>10}{row['overturned']:>12}{row['no decision']:>13}")
        disagreements = [o for o in self.outcomes if not o.agrees]
        if disagreements:
            lines += ["", "Disagreements:"]
        for o in disagreements:
            lines.append(f"  {(o.case.case_id if o.case else None) or o.path}: {'; '.join(o.mismatches)}")
            if o.expected and o.expected.known_disagreement:
                lines.append(f"    known: {o.expected.known_disagreement}")
            for r in o.determination.results if o.determination else ():
                if r.status in FAILING or r.status is Status.ERROR:
                    lines.append(f"    {r.status.value}: {r.criterion} ({r.reason})")
        return "\n".join(lines) + "\n"


def _imr_view_of(outcome: CaseOutcome) -> str:
    return imr_view(outcome.determination.decision) if outcome.determination else "no decision"


def _rate(agree: int, total: int) -> str:
    return f"{100 * agree / total:.1f}%" if total else "n/a"


def run_agreement(kb: KnowledgeBase, paths: Iterable[Path]) -> AgreementReport:
    """Evaluate every case file under ``paths`` and compare with its ``expected`` block."""
    report = AgreementReport()
    for path in data_files(list(paths)):
        case: Case | None = None
        try:
            case = load_case(path)
            det = kb.evaluate(case)
        except KBError as exc:  # reported as a disagreement, never dropped
            report.outcomes.append(CaseOutcome(str(path), case, None, [f"could not be evaluated: {exc}"]))
            continue
        report.outcomes.append(CaseOutcome(str(path), case, det, mismatches(det, case.expected or Expected())))
    return report
