"""Helpers shared by the first-party physical-medicine plugins (chiropractic, PT/OT).

Only judgment lives here; the cap and its start date are ``shared.*`` parameters in
``guidelines/common.yaml``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from kb_core import Case, Finding


def visits_so_far(case: Case, *kinds: str, post_surgical: bool | None = False) -> tuple[int, bool]:
    """Visits already given of ``kinds`` (``post_surgical`` False: only non-postsurgical
    courses; None: all), and whether every such course states its count."""
    courses = [t for t in case.prior(*kinds) if post_surgical is None or bool(t.post_surgical) == post_surgical]
    return sum(t.count or 0 for t in courses), all(t.count is not None for t in courses)


def statutory_cap(case: Case, p: Mapping[str, Any], kind: str) -> Finding:
    """Labor Code §4604.5: at most ``visit_cap_per_injury`` visits of ``kind`` per injury."""
    if case.request.post_surgical is not None:
        return Finding.not_applicable("postsurgical physical medicine is not counted toward the statutory cap")
    injury = case.dates.injury
    if injury is not None and injury < dt.date.fromisoformat(p["visit_cap_from_injury_date"]):
        return Finding.not_applicable(f"injury before {p['visit_cap_from_injury_date']}: the cap does not apply")
    given, complete = visits_so_far(case, kind)
    authorized = case.request.ur_authorized_quantity or 0
    requested = case.request.quantity
    if requested is None:
        return Finding.not_documented("the number of visits requested is not stated")
    cap = p["visit_cap_per_injury"]
    total = given + authorized + requested
    counted = f"{given}{'' if complete else ' or more'} prior {kind.replace('_', ' ')} visits + {authorized} certified + {requested} requested = {total}"
    if total <= cap and not complete:
        return Finding.not_documented(f"{counted}: prior {kind.replace('_', ' ')} is documented without its number of visits, so the cap of {cap} cannot be checked")
    if total <= cap:
        return Finding.met(f"{counted}, within the cap of {cap} per injury")
    return Finding.not_met(f"{counted}, above the cap of {cap} per injury", approvable=max(cap - given - authorized, 0) or None)


def region_named(case: Case) -> Finding:
    """Whether the request names the body region(s) to treat (both PT/OT and chiropractic)."""
    regions = case.request.body_regions
    if not regions:
        return Finding.not_documented("the request does not name the body region to treat")
    return Finding.met(f"requested for {', '.join(r.replace('_', ' ') for r in regions)}")
