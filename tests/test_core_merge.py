"""Where issue 9 (reliability), issue 10 (speed) and issue 8 (the MTUS from 2017-12-01)
meet in ``KnowledgeBase.evaluate``: the cached version choice must not change any
determination, must key on every date the choice reads, and cached receipts must carry
what the reliability work puts in receipts (supersessions)."""

from __future__ import annotations

import datetime as dt
import random
import sys
from pathlib import Path
from typing import Any

import kb_core
from conftest import load_first_party
from kb_core import Decision

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "hostile"))
import hostile_plugins as hostile  # noqa: E402
CASE_FILES = sorted((ROOT / "tests" / "cases").rglob("*.yaml"))


def _fresh_json(kb: kb_core.KnowledgeBase, case: Any) -> str:
    kb._choices.clear()  # nothing cached: the choice is made for this case alone
    return kb_core.determination_json(kb.evaluate(case))


def test_cached_choices_give_the_bytes_of_uncached_ones_in_any_order(kb: kb_core.KnowledgeBase) -> None:
    cases = [kb_core.load_case(path) for path in CASE_FILES]
    fresh = {case.path: _fresh_json(kb, case) for case in cases}
    for seed in (1, 2):
        order = cases[:]
        random.Random(seed).shuffle(order)
        kb._choices.clear()
        for case in order:  # each choice may have been cached by an earlier case of the kind and dates
            assert kb_core.determination_json(kb.evaluate(case)) == fresh[case.path], case.path
    assert len(kb._choices) < len(cases)  # the cache was shared: otherwise this proves nothing


def test_the_choice_cache_keys_on_the_date_of_service_from_the_switch(kb: kb_core.KnowledgeBase) -> None:
    switch = kb._era.service_from
    assert switch is not None
    request = (switch - dt.timedelta(days=20)).isoformat()
    base = {"request": {"treatment": "physical_therapy", "body_regions": ["knee"], "quantity": 6}}
    services = [None, switch - dt.timedelta(days=1), switch, switch + dt.timedelta(days=300)]
    fresh = {}
    for service in services:
        dates = {"request": request, **({"service": service.isoformat()} if service else {})}
        fresh[service] = _fresh_json(kb, {**base, "dates": dates})
    kb._choices.clear()
    for service in [*services, *reversed(services)]:
        dates = {"request": request, **({"service": service.isoformat()} if service else {})}
        assert kb_core.determination_json(kb.evaluate({**base, "dates": dates})) == fresh[service], service
    # before the switch the request date chooses, so no service date and the day before share one cached choice
    assert len(kb._choices) == 3
    assert '"decision": "criteria_unavailable"' in fresh[switch] and '"decision": "criteria_unavailable"' not in fresh[None]


def test_cached_receipts_of_every_outcome_show_supersessions(tmp_path: Path) -> None:
    kb = load_first_party(plugins=[("aaa_takeover", hostile.takeover_plugin(tmp_path, supersedes=True))])
    assert kb.supersessions
    cases = {
        Decision.NOT_ADDRESSED: {"dates": {"request": "2024-05-06"}, "request": {"treatment": "inpatient_rehabilitation"}},
        Decision.NO_CRITERIA: {"dates": {"request": "2024-05-06"}, "request": {"treatment": "surgery"}},
        Decision.CRITERIA_UNAVAILABLE: {"dates": {"request": "2024-05-06"}, "request": {"treatment": "massage", "body_regions": ["knee"], "quantity": 4}},
    }
    for expected, case in cases.items():
        for _ in range(2):  # the first builds the receipt, the second takes it from the cache
            det = kb.evaluate(case)
            assert det.decision is expected and det.receipt.supersessions == kb.supersessions, (expected, det.summary)
            assert "SUPERSEDED: chiropractic superseded by aaa_chiropractic" in kb_core.determination_text(det)
