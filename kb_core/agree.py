"""Agreement between the engine and expected outcomes (real IMR decisions or authored cases).

Strict reading (the headline figure). IMR decides the disputed request as submitted and
cannot modify it: ``upheld`` means none of it is medically necessary, so it agrees only
with ``non_certified`` (0 approved); ``overturned`` means all of it is, so it agrees only
with ``certified`` in full. An authored case agrees when the decision it names is reached.
Where a case gives ``approved_quantity``, the engine's must match exactly.

Loose reading (secondary, kept for comparison with earlier reports): ``modified`` also
counts as agreeing with ``upheld`` (the request as submitted is not certified in full).

Each figure is shown beside two baselines on the same files: a program that denies every
request (0 approved) and one that certifies every request in full. Balanced accuracy is
the mean, over the expected outcomes present, of the share of cases with that outcome the
engine reaches, so a baseline that always answers one way scores 1/(number of outcomes).

Reasons: a real case may list the criteria its reviewer relied on
(``expected.reviewer_criteria``). Each agreeing case is then *same* (every criterion that
decides is one the reviewer relied on), *partial* (the reviewer's criterion and extra
deciding ones), *different* (none of the reviewer's), or *wrong outcome*.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import partial
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb_core._case import Case, Expected, load_case
from kb_core._kb import KnowledgeBase
from kb_core._model import Decision, Determination, Status
from kb_core._yaml import data_files
from kb_core.errors import CaseError, KBError

FAILING = (Status.NOT_MET, Status.NOT_DOCUMENTED)
# ``source:`` of a case taken from a real Independent Medical Review decision.
REAL_SOURCE = re.compile(r"\bIMR\b|\bCM\d{2}-\d{7}\b")
# Expected outcome classes: what a request's answer is, whoever gives it.
DENY, CERTIFY, MODIFY, NONE = "deny", "certify", "modify", "no_criteria"
# The engine's answers that are no decision on the merits share one class with no_criteria.
CLASS_OF_DECISION = {"non_certified": DENY, "certified": CERTIFY, "modified": MODIFY, "no_criteria": NONE, "criteria_unavailable": NONE, "not_addressed": NONE}
CLASS_OF_IMR = {"upheld": DENY, "overturned": CERTIFY}
BASELINES = ("deny_all", "certify_all")
METRICS = ("strict", "balanced")
REASON_KINDS = ("same", "partial", "different", "wrong_outcome")


def imr_view(decision: Decision) -> str:
    """The loose reading of a decision as an IMR outcome: upheld, overturned or none."""
    if decision is Decision.CERTIFIED:
        return "overturned"
    if decision in (Decision.NON_CERTIFIED, Decision.MODIFIED):
        return "upheld"
    return "no decision"


def strict_imr_view(decision: Decision) -> str:
    """The strict reading: only a denial of all of it is upheld, only all of it overturned."""
    return {Decision.CERTIFIED: "overturned", Decision.NON_CERTIFIED: "upheld", Decision.MODIFIED: "partly certified"}.get(
        decision, "no decision"
    )


def failed_criteria(det: Determination) -> set[str]:
    return {r.criterion for r in det.criteria if r.status in FAILING}


def expected_class(expected: Expected) -> str | None:
    """The outcome the case expects, as deny / certify / modify / no_criteria."""
    # An exact decision, when a case names one, is the expectation; an IMR outcome otherwise.
    if expected.decision is not None:
        return CLASS_OF_DECISION[expected.decision]
    if expected.imr_outcome is not None:
        return CLASS_OF_IMR[expected.imr_outcome]
    return None


def _outcome_agrees(decision: str, approved: int | None, requested: int | None, expected: Expected, loose: bool = False) -> bool:
    """Whether an answer (decision, quantity) reaches the expected outcome."""
    if expected.decision is not None:
        ok = decision == expected.decision
    elif expected.imr_outcome == "upheld":
        ok = decision == "non_certified" or (loose and decision == "modified")
    else:
        ok = decision == "certified"
    if expected.approved_quantity is not None:
        shown = approved if decision != "certified" or approved is not None else requested
        ok = ok and shown == expected.approved_quantity
    return ok and (expected.imr_outcome is not None or expected.decision is not None)


def mismatches(det: Determination, expected: Expected) -> list[str]:
    """Every way the determination differs from what the case expects, read strictly (empty: agreement)."""
    out = []
    if expected.decision is not None and det.decision.value != expected.decision:
        out.append(f"decision {det.decision.value}, expected {expected.decision}")
    if expected.approved_quantity is not None and det.approved_quantity != expected.approved_quantity:
        out.append(f"approved quantity {det.approved_quantity}, expected {expected.approved_quantity}")
    if expected.failed_criteria is not None and failed_criteria(det) != set(expected.failed_criteria):
        out.append(f"failed criteria {sorted(failed_criteria(det))}, expected {sorted(expected.failed_criteria)}")
    if expected.criterion_status is not None:
        statuses = {r.criterion: r.status.value for r in det.criteria}
        for cid, status in expected.criterion_status:
            if statuses.get(cid) != status:
                out.append(f"{cid} {statuses.get(cid, 'not evaluated')}, expected {status}")
    # The IMR outcome is compared (strictly) where no exact decision is named: real decisions.
    if expected.decision is None and expected.imr_outcome is not None and strict_imr_view(det.decision) != expected.imr_outcome:
        out.append(f"IMR {expected.imr_outcome}, engine's decision {det.decision.value} means {strict_imr_view(det.decision)}")
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
    def real(self) -> bool:
        """A real IMR decision: ``source:`` names one."""
        return bool(self.case and self.case.source and REAL_SOURCE.search(self.case.source))

    @property
    def scored(self) -> bool:
        """Counted in the figures: it states an outcome, or it could not be evaluated (a disagreement)."""
        return self.determination is None or (self.expected is not None and expected_class(self.expected) is not None)

    @property
    def treatment(self) -> str:
        if self.determination:
            return self.determination.treatment
        return self.case.request.treatment if self.case else "unreadable"

    @property
    def decision(self) -> str:
        return self.determination.decision.value if self.determination else "error"

    @property
    def requested(self) -> int | None:
        """The quantity requested, as the engine reports it when certifying in full."""
        return self.case.request.implied_quantity if self.case else None

    @property
    def agrees(self) -> bool:
        """Every expectation met, strictly (decision, quantity, IMR outcome, failed criteria)."""
        return not self.mismatches

    def outcome_agrees(self, loose: bool = False) -> bool:
        """The expected outcome (and quantity) reached; failed criteria are compared as reasons."""
        if self.determination is None or self.expected is None:
            return False
        det = self.determination
        return _outcome_agrees(det.decision.value, det.approved_quantity, det.requested_quantity, self.expected, loose)

    def baseline_agrees(self, baseline: str) -> bool:
        """Whether a program that denies (``deny_all``) or certifies (``certify_all``) everything agrees."""
        if self.expected is None:
            return False
        if baseline == "deny_all":
            return _outcome_agrees("non_certified", 0, self.requested, self.expected)
        return _outcome_agrees("certified", self.requested, self.requested, self.expected)

    @property
    def deciding(self) -> tuple[str, ...]:
        return self.determination.deciding_criteria if self.determination else ()

    @property
    def reason_agreement(self) -> str | None:
        """same / partial / different / wrong_outcome, or None where no reviewer criteria are given."""
        expected = self.expected
        if expected is None or expected.reviewer_criteria is None:
            return None
        if not self.outcome_agrees():
            return "wrong_outcome"
        relied = set(expected.reviewer_criteria)
        assert self.determination is not None  # outcome_agrees needs one
        if self.determination.decision is Decision.CERTIFIED:
            # Certified: nothing decides against; the reviewer's criteria must be the ones found met.
            met = {r.criterion for r in self.determination.criteria if r.status is Status.MET}
            found = relied & met
            return "same" if found == relied and relied else "partial" if found else "different"
        deciding = set(self.deciding)
        if not deciding & relied:
            return "different"
        return "same" if deciding <= relied else "partial"

    @property
    def unrelied(self) -> tuple[str, ...]:
        """Criteria that decide here although the reviewer did not rely on them."""
        expected = self.expected
        if expected is None or expected.reviewer_criteria is None:
            return ()
        return tuple(c for c in self.deciding if c not in expected.reviewer_criteria)

    @property
    def extra_from_absent_documentation(self) -> bool:
        """Whether a criterion deciding without the reviewer is one that is not documented
        (the burden of documentation), rather than not met on the record's facts."""
        extra = set(self.unrelied)
        return any(r.criterion in extra and r.status is Status.NOT_DOCUMENTED for r in (self.determination.criteria if self.determination else ()))

    @property
    def relied_not_deciding(self) -> tuple[tuple[str, str], ...]:
        """The reviewer's criteria that do not decide here, with the engine's status for each
        (a reason the reviewer gave that the engine found met, not applicable or a note)."""
        expected, det = self.expected, self.determination
        if expected is None or expected.reviewer_criteria is None or det is None or det.decision is Decision.CERTIFIED:
            return ()
        status = {r.criterion: ("note" if r.status in FAILING and not r.decides else r.status.value) for r in det.criteria}
        deciding = set(self.deciding)
        return tuple((c, status.get(c, "not evaluated")) for c in expected.reviewer_criteria if c not in deciding)

    def as_dict(self) -> dict[str, Any]:
        det = self.determination
        expected = self.expected or Expected()
        return {
            "path": self.path,
            "case_id": self.case.case_id if self.case else None,
            "treatment": self.treatment,
            "real_decision": self.real,
            "decision": self.decision,
            "approved_quantity": det.approved_quantity if det else None,
            "requested_quantity": self.requested,
            "expected_decision": expected.decision,
            "expected_imr_outcome": expected.imr_outcome,
            "expected_approved_quantity": expected.approved_quantity,
            "agrees": self.agrees,
            "strict_agrees": self.outcome_agrees(),
            "loose_agrees": self.outcome_agrees(loose=True),
            "mismatches": self.mismatches,
            "known_disagreement": expected.known_disagreement,
            "reviewer_criteria": list(expected.reviewer_criteria) if expected.reviewer_criteria is not None else None,
            "reason_agreement": self.reason_agreement,
            "deciding_without_reviewer": list(self.unrelied),
            # The determination's own deciding_criteria, each with its status, reason and citation.
            "deciding_criteria": [
                {"criterion": r.criterion, "status": r.status.value, "reason": r.reason, "citation": r.citation}
                for cid in self.deciding for r in (det.criteria if det else ()) if r.criterion == cid
            ],
            "notes_not_deciding": [
                {"criterion": r.criterion, "status": r.status.value, "reason": r.reason}
                for r in (det.criteria if det else ()) if r.status in FAILING and not r.decides
            ],
        }


def _rate(agree: int, total: int) -> str:
    return f"{100 * agree / total:.1f}%" if total else "n/a"


def _fraction(agree: int, total: int) -> float | None:
    return round(agree / total, 6) if total else None


def _balanced(outcomes: Sequence[CaseOutcome], agrees: Callable[[CaseOutcome], bool]) -> float | None:
    """Mean over expected outcome classes of the share of that class reached."""
    by_class: dict[str, list[bool]] = {}
    for o in outcomes:
        cls = expected_class(o.expected) if o.expected else "unevaluable"
        by_class.setdefault(cls or "unevaluable", []).append(bool(agrees(o)))
    recalls = [sum(v) / len(v) for cls, v in by_class.items() if cls != "unevaluable"]
    if not recalls:
        return None
    # Unevaluable files count against the engine in the class they would have been scored in;
    # with no class known, they lower every class equally.
    unevaluable = len(by_class.get("unevaluable", []))
    if unevaluable:
        scored = sum(len(v) for cls, v in by_class.items() if cls != "unevaluable")
        recalls = [r * scored / (scored + unevaluable) for r in recalls]
    return round(sum(recalls) / len(recalls), 6)


def figures(outcomes: Sequence[CaseOutcome]) -> dict[str, Any]:
    """Strict and loose agreement, balanced accuracy and per-outcome figures for the engine and the baselines."""
    n = len(outcomes)
    strict = sum(o.outcome_agrees() for o in outcomes)
    loose = sum(o.outcome_agrees(loose=True) for o in outcomes)
    classes = sorted({expected_class(o.expected) or "" for o in outcomes if o.expected} - {""})
    per_outcome = {
        cls: {"cases": sum(1 for o in outcomes if o.expected and expected_class(o.expected) == cls),
              "agree": sum(1 for o in outcomes if o.expected and expected_class(o.expected) == cls and o.outcome_agrees())}
        for cls in classes
    }
    out: dict[str, Any] = {
        "cases": n,
        "strict_agree": strict,
        "strict_agreement": _fraction(strict, n),
        "loose_agree": loose,
        "loose_agreement": _fraction(loose, n),
        "balanced_accuracy": _balanced(outcomes, CaseOutcome.outcome_agrees),
        "per_outcome": per_outcome,
        "baselines": {},
    }
    for name in BASELINES:
        hits = sum(o.baseline_agrees(name) for o in outcomes)
        out["baselines"][name] = {
            "strict_agree": hits,
            "strict_agreement": _fraction(hits, n),
            "balanced_accuracy": _balanced(outcomes, partial(CaseOutcome.baseline_agrees, baseline=name)),
            "per_outcome": {
                cls: {"cases": v["cases"],
                      "agree": sum(1 for o in outcomes if o.expected and expected_class(o.expected) == cls and o.baseline_agrees(name))}
                for cls, v in per_outcome.items()
            },
        }
    return out


@dataclass
class AgreementReport:
    outcomes: list[CaseOutcome] = field(default_factory=list)

    @property
    def scored(self) -> list[CaseOutcome]:
        # A file that could not be read or evaluated counts as a disagreement, never as unscored.
        return [o for o in self.outcomes if o.scored]

    @property
    def without_expectation(self) -> list[CaseOutcome]:
        return [o for o in self.outcomes if not o.scored]

    @property
    def errors(self) -> list[CaseOutcome]:
        return [o for o in self.outcomes if o.determination is None]

    def metric(self, name: str) -> float | None:
        """The figure ``--fail-under`` compares: ``strict`` agreement or ``balanced`` accuracy, over all scored files."""
        figs = figures(self.scored)
        return figs["strict_agreement"] if name == "strict" else figs["balanced_accuracy"]

    def reasons(self) -> dict[str, Any]:
        annotated = [o for o in self.scored if o.expected and o.expected.reviewer_criteria is not None]
        counts = Counter(o.reason_agreement for o in annotated)
        unrelied: Counter[str] = Counter(c for o in annotated for c in o.unrelied)
        deciding_at_all: Counter[str] = Counter(c for o in annotated if o.determination for c in o.deciding)
        missed: Counter[tuple[str, str]] = Counter(pair for o in annotated if o.outcome_agrees() for pair in o.relied_not_deciding)
        real_unannotated = [o.case.case_id or o.path for o in self.scored if o.real and o.case and o not in annotated]
        per_treatment = {
            t: {kind: sum(1 for o in annotated if o.treatment == t and o.reason_agreement == kind) for kind in REASON_KINDS}
            for t in sorted({o.treatment for o in annotated})
        }
        return {
            "annotated": len(annotated),
            "per_treatment": per_treatment,
            **{kind: counts.get(kind, 0) for kind in REASON_KINDS},
            "same_rate": _fraction(counts.get("same", 0), len(annotated)),
            # same + partial: the outcome agrees and the reviewer's ground is among the deciding
            # criteria (whatever else decides beside it).
            "reviewer_ground_deciding": counts.get("same", 0) + counts.get("partial", 0),
            # How the partial cases divide: extra grounds only from the record's facts (not
            # met), or at least one from absent documentation (what the burden model governs).
            "partial_extra_from_absent_documentation": sum(1 for o in annotated if o.reason_agreement == "partial" and o.extra_from_absent_documentation),
            "deciding_without_reviewer": [{"criterion": c, "cases": k, "of_deciding": deciding_at_all[c]}
                                          for c, k in sorted(unrelied.items(), key=lambda ck: (-ck[1], ck[0]))],
            "reviewer_criteria_not_deciding": [{"criterion": c, "engine_status": st, "cases": k}
                                               for (c, st), k in sorted(missed.items(), key=lambda ck: (-ck[1], ck[0]))],
            "real_cases_without_reviewer_criteria": sorted(str(x) for x in real_unannotated),
        }

    def summary(self) -> dict[str, Any]:
        scored = self.scored
        real = [o for o in scored if o.real]
        authored = [o for o in scored if not o.real]
        imr = [o for o in scored if o.expected and o.expected.imr_outcome]
        treatments = sorted({o.treatment for o in scored})
        confusion: Counter[tuple[str, str]] = Counter(
            (o.expected.imr_outcome or "", strict_imr_view(o.determination.decision) if o.determination else "no decision")
            for o in imr if o.expected
        )
        return {
            # Kept for earlier readers: "agree" is every expectation met, read strictly.
            "cases": len(scored),
            "agree": sum(o.agrees for o in scored),
            "agreement": _rate(sum(o.agrees for o in scored), len(scored)),
            "imr_cases": len(imr),
            "imr_agree": sum(o.agrees for o in imr),
            "imr_agreement": _rate(sum(o.agrees for o in imr), len(imr)),
            "all": figures(scored),
            "real_decisions": figures(real),
            "authored": figures(authored),
            "per_treatment": {t: figures([o for o in scored if o.treatment == t]) for t in treatments},
            "real_per_treatment": {t: figures([o for o in real if o.treatment == t]) for t in sorted({o.treatment for o in real})},
            "reasons": self.reasons(),
            "known_disagreements": sum(1 for o in scored if o.expected and o.expected.known_disagreement),
            "confusion_matrix": {
                expected: {engine: confusion[(expected, engine)] for engine in ("upheld", "partly certified", "overturned", "no decision")}
                for expected in ("upheld", "overturned")
            },
            "without_expectation": [o.path for o in self.without_expectation],
            "unscored": len(self.without_expectation),
            "could_not_be_evaluated": len(self.errors),
        }

    def as_dict(self) -> dict[str, Any]:
        return {"summary": self.summary(), "cases": [o.as_dict() for o in self.outcomes]}

    def text(self) -> str:
        s = self.summary()
        lines = [
            "Strict agreement: upheld = none of the disputed request approved, overturned = all of it; approved quantities exact.",
            "",
            f"{'':<28}{'cases':>6}{'strict':>9}{'balanced':>10}{'deny-all':>10}{'(bal.)':>8}{'certify-all':>13}{'(bal.)':>8}{'loose':>8}",
        ]

        def row(label: str, f: dict[str, Any]) -> str:
            def pct(x: float | None) -> str:
                return "n/a" if x is None else f"{100 * x:.1f}%"

            d, c = f["baselines"]["deny_all"], f["baselines"]["certify_all"]
            return (f"  {label:<26}{f['cases']:>6}{pct(f['strict_agreement']):>9}{pct(f['balanced_accuracy']):>10}"
                    f"{pct(d['strict_agreement']):>10}{pct(d['balanced_accuracy']):>8}"
                    f"{pct(c['strict_agreement']):>13}{pct(c['balanced_accuracy']):>8}{pct(f['loose_agreement']):>8}")

        lines.append(row("all files", s["all"]))
        lines.append(row("real IMR decisions", s["real_decisions"]))
        lines.append(row("authored cases", s["authored"]))
        for t, f in s["per_treatment"].items():
            lines.append(row(f"{t} (all)", f))
        for t, f in s["real_per_treatment"].items():
            lines.append(row(f"{t} (real)", f))
        lines.append("  (loose, secondary: a modification also counts as agreeing with an upheld denial)")
        lines += ["", "Per expected outcome (strict): " + ", ".join(
            f"{cls} {v['agree']}/{v['cases']}" for cls, v in s["all"]["per_outcome"].items())]
        lines += [f"Real decisions per outcome (strict): " + ", ".join(
            f"{'upheld' if cls == DENY else 'overturned' if cls == CERTIFY else cls} {v['agree']}/{v['cases']}"
            for cls, v in s["real_decisions"]["per_outcome"].items())]
        lines += [
            f"Every expectation met (decision, quantity, failed criteria): {s['agree']}/{s['cases']} ({s['agreement']})",
            f"Known disagreements (marked in the case files): {s['known_disagreements']}",
            f"Files that could not be evaluated (counted as disagreements): {s['could_not_be_evaluated']}",
        ]
        if s["without_expectation"]:
            lines.append(f"Files without an expected outcome (not scored): {len(s['without_expectation'])}")
            lines += [f"  {p}" for p in s["without_expectation"]]
        r = s["reasons"]
        lines += ["", f"Reasons (cases naming the reviewer's criteria: {r['annotated']}): "
                  + ", ".join(f"{k.replace('_', ' ')} {r[k]}" for k in REASON_KINDS)
                  + (f"; same {100 * r['same_rate']:.1f}%" if r["same_rate"] is not None else "")]
        if r["annotated"]:
            lines.append(f"  the reviewer's ground is among the deciding criteria (same or partial): {r['reviewer_ground_deciding']} of {r['annotated']}"
                         f" ({100 * r['reviewer_ground_deciding'] / r['annotated']:.1f}%)")
        if r["partial"]:
            lines.append(f"  partial: {r['partial'] - r['partial_extra_from_absent_documentation']} with extra grounds only from the record's facts (not met),"
                         f" {r['partial_extra_from_absent_documentation']} with an extra ground from absent documentation (not documented)")
        for t, counts in r["per_treatment"].items():
            lines.append(f"  {t:<22} " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items()))
        if r["real_cases_without_reviewer_criteria"]:
            lines.append(f"  real decisions without reviewer criteria: {', '.join(r['real_cases_without_reviewer_criteria'])}")
        if r["deciding_without_reviewer"]:
            lines.append("Criteria deciding without the reviewer relying on them (cases, of the cases where each decides):")
            lines += [f"  {item['cases']:>3} of {item['of_deciding']:<3} {item['criterion']}" for item in r["deciding_without_reviewer"]]
        if r["reviewer_criteria_not_deciding"]:
            lines.append("The reviewer's criteria that do not decide here, where the outcome agrees (cases, the engine's status):")
            lines += [f"  {item['cases']:>3}  {item['criterion']} ({item['engine_status']})" for item in r["reviewer_criteria_not_deciding"]]
        lines += ["", "Confusion matrix (rows: IMR outcome; columns: the engine's decision read strictly):",
                  f"  {'':<12}{'upheld':>10}{'partly cert.':>14}{'overturned':>12}{'no decision':>13}"]
        for expected, counts in s["confusion_matrix"].items():
            lines.append(f"  {expected:<12}{counts['upheld']:>10}{counts['partly certified']:>14}{counts['overturned']:>12}{counts['no decision']:>13}")
        disagreements = [o for o in self.scored if not o.agrees]
        if disagreements:
            lines += ["", "Disagreements:"]
        for o in disagreements:
            lines.append(f"  {(o.case.case_id if o.case else None) or o.path}: {'; '.join(o.mismatches)}")
            if o.expected and o.expected.known_disagreement:
                lines.append(f"    known: {' '.join(o.expected.known_disagreement.split())}")
            for r_ in o.determination.criteria if o.determination else ():
                if (r_.status in FAILING and r_.decides) or r_.status is Status.ERROR:
                    lines.append(f"    {r_.status.value}: {r_.criterion} ({r_.reason})")
        partial = [o for o in self.scored if o.reason_agreement in ("partial", "different")]
        if partial:
            lines += ["", "Outcome reached on other grounds than the reviewer's:"]
            for o in partial:
                assert o.expected is not None and o.expected.reviewer_criteria is not None
                lines.append(f"  {(o.case.case_id if o.case else None) or o.path} ({o.reason_agreement}): deciding {', '.join(o.deciding) or 'none'};"
                             f" reviewer {', '.join(o.expected.reviewer_criteria) or 'none encoded'}")
        return "\n".join(lines) + "\n"


def _check_reviewer_criteria(kb: KnowledgeBase, case: Case) -> None:
    """A reviewer criterion must name a criterion the knowledge base has."""
    expected = case.expected
    if expected is None or expected.reviewer_criteria is None:
        return
    for index, cid in enumerate(expected.reviewer_criteria):
        if cid not in kb.guidelines.criteria:
            raise CaseError(
                f"unknown criterion '{cid}'", path=case.path, where=f"expected.reviewer_criteria[{index}]",
                fix=f"name a criterion id as `mtus criteria {case.request.treatment}` lists it, or describe the reason in expected.reviewer_reasons",
            )


def parse_threshold(text: str) -> tuple[str, float]:
    """``balanced=0.8`` or ``strict=0.9`` (a percentage such as ``80`` or ``80%`` is read as 0.8)."""
    name, sep, value = text.partition("=")
    if not sep or name not in METRICS:
        raise ValueError(f"'{text}' names no metric: write {' or '.join(m + '=0.8' for m in METRICS)}")
    number = float(value.rstrip("%"))
    if value.endswith("%") or number > 1:
        number /= 100
    if not 0 <= number <= 1:
        raise ValueError(f"'{text}': the threshold must lie between 0 and 1 (or 0% and 100%)")
    return name, number


def run_agreement(kb: KnowledgeBase, paths: Iterable[Path]) -> AgreementReport:
    """Evaluate every case file under ``paths`` and compare with its ``expected`` block."""
    report = AgreementReport()
    for path in data_files(list(paths)):
        case: Case | None = None
        try:
            case = load_case(path)
            _check_reviewer_criteria(kb, case)
            det = kb.evaluate(case)
        except KBError as exc:  # reported as a disagreement, never dropped
            report.outcomes.append(CaseOutcome(str(path), case, None, [f"could not be evaluated: {exc}"]))
            continue
        report.outcomes.append(CaseOutcome(str(path), case, det, mismatches(det, case.expected or Expected())))
    return report
