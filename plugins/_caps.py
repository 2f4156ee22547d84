"""Helpers shared by the first-party physical-medicine plugins (chiropractic, PT/OT,
electrotherapy, massage, aquatic therapy).

Only judgment lives here; the cap, its start date and every word list are parameters in
the guideline YAML (``shared.*`` in ``guidelines/common.yaml``).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from kb_core import Case, Finding

_Answer = TypeVar("_Answer")


def once_per_case(question: Callable[..., _Answer]) -> Callable[..., _Answer]:
    """Decorate ``question(case, *args)``, asked of the same case by several criteria of a
    treatment, so that it is answered once per case. Only the last answer is kept, with the
    case (compared by identity: a case is frozen) and the arguments (compared by equality:
    parameter values, the same objects in every criterion of a plan) it was given for;
    any other case or argument is answered afresh."""
    last: list[tuple[Any, tuple[Any, ...], Any]] = [(None, (), None)]

    @functools.wraps(question)
    def answer(case: Case, *args: Any) -> _Answer:
        seen_case, seen_args, value = last[0]  # one read: another thread may replace it meanwhile
        if seen_case is case and seen_args == args:
            return value  # type: ignore[no-any-return]
        value = question(case, *args)
        last[0] = (case, args, value)
        return value

    return answer


def visits_so_far(case: Case, *kinds: str, post_surgical: bool | None = False) -> tuple[int, bool]:
    """Visits already given of ``kinds`` (``post_surgical`` False: only non-postsurgical
    courses; None: all), and whether every such course states its exact count (a count
    given only as a lower bound, ``count_at_least``, is counted but not exact)."""
    courses = [t for t in case.prior(*kinds) if post_surgical is None or bool(t.post_surgical) == post_surgical]
    return sum(t.count or 0 for t in courses), all(t.count is not None and not t.count_at_least for t in courses)


def requested_visits(case: Case) -> Finding | int:
    """The visits requested (``Request.visits``), or a not_documented finding saying why
    they cannot be counted."""
    visits = case.request.visits
    if visits is not None:
        return visits
    request = case.request
    if request.quantity is not None and request.unit == "weeks":
        return Finding.not_documented(lambda: f"requested for {request.quantity} weeks without a weekly frequency, so the number of visits is not stated")
    if request.quantity is not None and request.unit == "hours":
        return Finding.not_documented(lambda: f"requested as {request.quantity} hours without hours a day, so the number of visits is not stated")
    return Finding.not_documented("the number of visits requested is not stated")


def weeks_check(case: Case, visits: int, limit_weeks: float, what: str) -> Finding | None:
    """None when the requested span fits ``limit_weeks`` (or is not stated: the count
    decides and the schedule is only noted); otherwise not_met, approving the visits
    that fit in ``limit_weeks`` at the requested pace."""
    span = case.request.span_weeks
    if span is None or span <= limit_weeks:
        return None
    fitting = math.floor(visits * limit_weeks / span)
    return Finding.not_met(
        f"{visits} visits over {span:g} weeks: longer than the {limit_weeks:g} weeks of {what}",
        approvable=fitting or None,
    )


def schedule_note(case: Case) -> str:
    span = case.request.span_weeks
    return f" over {span:g} weeks" if span is not None else " (weeks not stated: the count is judged, the schedule noted)"


def cap_exempt_as_postsurgical(case: Case, under_postsurgical_guideline: bool) -> bool:
    """Labor Code §4604.5(c)(3): only postsurgical care given under the postsurgical
    guideline is outside the cap, not every request that names a surgery."""
    return case.request.post_surgical is not None and under_postsurgical_guideline


def statutory_cap(case: Case, p: Mapping[str, Any], kind: str, *, postsurgical_guideline: bool = False) -> Finding:
    """Labor Code §4604.5: at most ``visit_cap_per_injury`` visits of ``kind`` per injury.

    Unknown or lower-bound prior counts decide only when the known numbers already exceed
    the cap; otherwise the result is not_documented (a note: see the criterion's burden).
    """
    if cap_exempt_as_postsurgical(case, postsurgical_guideline):
        return Finding.not_applicable("postsurgical physical medicine under the postsurgical guideline is not counted toward the statutory cap")
    injury = case.dates.injury
    if injury is not None and injury < dt.date.fromisoformat(p["visit_cap_from_injury_date"]):
        return Finding.not_applicable(lambda: f"injury before {p['visit_cap_from_injury_date']}: the cap does not apply")
    requested = requested_visits(case)
    if isinstance(requested, Finding):
        return requested
    given, complete = visits_so_far(case, kind)
    authorized = case.request.ur_authorized_quantity or 0
    cap = p["visit_cap_per_injury"]
    total = given + authorized + requested
    counted = f"{given}{'' if complete else ' or more'} prior {kind.replace('_', ' ')} visits + {authorized} certified + {requested} requested = {total}"
    if total > cap:
        return Finding.not_met(lambda: f"{counted}, above the cap of {cap} per injury", approvable=max(cap - given - authorized, 0) or None)
    if not complete:
        return Finding.not_documented(lambda: f"{counted}: prior {kind.replace('_', ' ')} is documented without its exact number of visits, so the cap of {cap} cannot be confirmed")
    return Finding.met(lambda: f"{counted}, within the cap of {cap} per injury")


def statute_only_era(case: Case, p: Mapping[str, Any], kind: str) -> Finding:
    """Scope of a guideline era whose clinical criteria are not encoded: no determination,
    except that a request the statutory cap leaves no visit for is not certified. Otherwise
    the cap is reported with the visits it still allows but never certifies part of a
    request alone: a cap only limits what the clinical criteria support (as from
    2017-12-01, where the licensed ACOEM text governs)."""
    cap = statutory_cap(case, p, kind)
    if cap.status.value == "not_met" and not cap.approvable:
        # Nothing is left under the cap: the statute alone denies the whole request.
        return Finding.not_applicable("the statutory cap leaves no visit for this injury and decides the request")
    if cap.status.value == "not_met":
        allowed, why = cap.approvable, cap.reason
        return Finding.not_met(lambda: (
            "the clinical criteria of this guideline era are not encoded; the statutory visit cap is exceeded "
            f"({why() if callable(why) else why}): a reviewer applying this era's guideline could certify at most {allowed}"
        ))
    return Finding.not_met("the clinical criteria of this guideline era are not encoded; only the statutory visit cap is checked, and it is not exceeded")


def visits_stated(case: Case) -> Finding:
    """Whether the request states its visits (or a schedule resolving to them): PT/OT and chiropractic."""
    visits = requested_visits(case)
    if isinstance(visits, Finding):
        return visits
    return Finding.met(lambda: f"{visits} visits requested{schedule_note(case)}")


def weekly_frequency(case: Case, limit: float) -> Finding:
    """At most ``limit`` visits a week; an unstated frequency leaves the count to be judged
    (physical medicine and aquatic therapy, which follows its counts)."""
    per_week = case.request.frequency_per_week
    if per_week is None:
        return Finding.not_applicable("frequency not stated; the visit count is judged instead")
    if per_week <= limit:
        return Finding.met(lambda: f"{per_week:g} a week, within {limit}")
    return Finding.not_met(lambda: f"{per_week:g} visits a week, more than {limit}")


def region_named(case: Case) -> Finding:
    """Whether the request names the body region(s) to treat (both PT/OT and chiropractic)."""
    regions = case.request.body_regions
    if not regions:
        return Finding.not_documented("the request does not name the body region to treat")
    return Finding.met(lambda: f"requested for {', '.join(r.replace('_', ' ') for r in regions)}")


def overlaps(regions: Iterable[str], requested: Iterable[str]) -> bool:
    """Whether a course for ``regions`` concerns the requested regions (a course or a
    request naming no region may concern any)."""
    a, b = set(regions), set(requested)
    return not a or not b or bool(a & b)


def concurrent_therapy(case: Case, p: Mapping[str, Any]) -> Finding:
    """A passive therapy requested while an active one for the same problem is under way or
    just authorized, without a documented rationale for both."""
    overlapping = [
        c for c in case.concurrent_treatments
        if c.treatment in p["concurrent_active_therapies"] and c.status in p["concurrent_statuses"]
        and overlaps(c.body_regions, case.request.body_regions)
    ]
    if not overlapping:
        return Finding.not_applicable("no other therapy for the same problem is documented as under way or authorized")
    names = ", ".join(f"{c.treatment.replace('_', ' ')} ({(c.status or '').replace('_', ' ')})" for c in overlapping)
    if case.findings.concurrent_rationale_documented:
        return Finding.met(f"{names} for the same problem, with a documented rationale for both")
    if case.findings.concurrent_rationale_documented is False:
        return Finding.not_met(f"{names} for the same problem, and the record gives no reason both are needed")
    return Finding.not_documented(f"{names} for the same problem; no rationale for both is documented")


def duplicate_request(case: Case) -> Finding:
    """A request that repeats treatment already authorized and not used up."""
    if case.request.duplicates_authorized:
        return Finding.not_met("the request repeats treatment already authorized and not yet used")
    if case.request.duplicates_authorized is False:
        return Finding.met("the request does not repeat an authorized one")
    return Finding.not_applicable("no earlier authorization of the same treatment is documented")


def falls_with_surgery(case: Case, *, not_postoperative: str, dependent: str, falls: str) -> Finding:
    """A postoperative item falls with its surgery: not met when the surgery was not
    certified, met when it was certified or performed, otherwise not documented."""
    post = case.request.post_surgical
    if post is None:
        return Finding.not_applicable(not_postoperative)
    if post.surgery_certified is False:
        return Finding.not_met(lambda: f"the surgery {dependent} was not certified, so {falls} falls with it")
    if post.surgery_certified:
        return Finding.met("the surgery is certified")
    if post.surgery_date is not None:
        return Finding.met(lambda: f"the surgery was performed on {post.surgery_date}")
    return Finding.not_documented("neither certification nor performance of the surgery is documented")


def continuation_improvement(case: Case, prior: list[Any], *, course: str, given: str, improvement: str) -> Finding:
    """A continuation needs ``improvement`` from the earlier courses ``prior`` (``given``
    names them, e.g. "the visits given"); a first course is not a continuation."""
    if not prior:
        if case.request.purpose == "continuation":
            return Finding.not_documented(f"a continuation, but the {course} already given is not documented", prior_treatments=prior)
        return Finding.not_applicable(f"first course of {course}", prior_treatments=prior)
    if any(t.functional_improvement for t in prior):
        return Finding.met(lambda: f"{improvement} from {given} is documented", prior_treatments=prior)
    if all(t.functional_improvement is False for t in prior):
        return Finding.not_met(lambda: f"{given} produced no {improvement}", prior_treatments=prior)
    return Finding.not_documented(lambda: f"no {improvement} from {given} is documented", prior_treatments=prior)
