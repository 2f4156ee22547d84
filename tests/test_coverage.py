"""Issue 8: electrotherapy, massage, functional restoration and aquatic therapy plugins, and
the MTUS from 2017-12-01 (criteria_unavailable, not_addressed, version by date of service).

Thresholds are read from the YAML through the knowledge base, never repeated here.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import kb_core
from conftest import load_first_party
from kb_core import Decision, Status
from kb_core.cli import main
from kb_core.testing import boundary_numbers, check_plugin

ROOT = Path(__file__).resolve().parent.parent
KB = load_first_party()
NEW_PLUGINS = ["electrotherapy", "massage", "functional_restoration", "aquatic_therapy"]


def param(pid: str, version: str = "cpmtg-2009") -> Any:
    return KB.guidelines.parameters[pid].value_for(version)


def result(det: kb_core.Determination, criterion: str) -> kb_core.CriterionResult:
    return next(r for r in det.criteria if r.criterion == criterion)


CRPS_RENTAL: dict[str, Any] = {
    "dates": {"injury": "2014-01-06", "request": "2015-03-02"},
    "diagnoses": [{"description": "complex regional pain syndrome, right hand", "body_region": "forearm_wrist_hand", "category": "crps"}],
    "request": {"treatment": "tens", "body_regions": ["forearm_wrist_hand"], "quantity": 1,
                "device": {"item": "unit", "acquisition": "rental", "rental_days": 30, "leads": 2, "delivery": "home"}},
    "findings": {"adjunct_to_active_rehabilitation": True, "other_modalities_failed": True, "treatment_plan_goals": True},
}


def with_device(case: dict[str, Any], **device: Any) -> dict[str, Any]:
    return {**case, "request": {**case["request"], "device": {**case["request"]["device"], **device}}}


# ---------------------------------------------------------------- done when


def test_tens_purchase_without_a_trial_is_not_certified_citing_the_trial_criterion() -> None:
    det = KB.evaluate(with_device(CRPS_RENTAL, acquisition="purchase", rental_days=None))
    assert det.decision is Decision.NON_CERTIFIED
    assert det.deciding_criteria == ("electrotherapy.trial_before_purchase",)
    trial = result(det, "electrotherapy.trial_before_purchase")
    assert "TENS, chronic pain" in trial.citation and "criteria for use (3)" in trial.citation
    assert f"{param('electrotherapy.trial_days')} days" in trial.reason


def test_one_month_rental_for_crps_with_the_prerequisites_is_certified() -> None:
    det = KB.evaluate(CRPS_RENTAL)
    assert (det.decision, det.approved_quantity) == (Decision.CERTIFIED, 1)
    assert result(det, "electrotherapy.listed_condition").status is Status.MET
    assert result(det, "electrotherapy.rental_length").status is Status.MET


def test_twelve_massage_visits_are_modified_to_the_allowance() -> None:
    det = KB.evaluate({
        "dates": {"injury": "2014-06-02", "request": "2015-03-02"},
        "request": {"treatment": "massage", "body_regions": ["lumbar_spine"], "quantity": 12, "unit": "visits", "purpose": "initial"},
        "findings": {"home_exercise_program": True},
    })
    assert (det.decision, det.approved_quantity) == (Decision.MODIFIED, param("massage.max_visits"))
    assert det.deciding_criteria == ("massage.visit_limit",)


def test_frp_past_two_weeks_without_documented_gains_is_not_certified() -> None:
    admission = dict.fromkeys(["baseline_functional_testing", "previous_methods_failed", "no_other_options",
                               "significant_loss_of_function", "motivation_to_change", "negative_predictors_addressed"], True)
    det = KB.evaluate({
        "dates": {"injury": "2012-04-02", "request": "2015-03-02"},
        "request": {"treatment": "functional_restoration", "quantity": 10, "unit": "days", "frequency_per_week": 5, "purpose": "continuation"},
        "prior_treatments": [{"treatment": "functional_restoration", "count": 10, "status": "ongoing", "start": "2015-02-16"}],
        "findings": {"surgical_candidate": False, "program": admission},
    })
    assert det.decision is Decision.NON_CERTIFIED
    assert det.deciding_criteria == ("functional_restoration.progress_check",)
    assert f"{param('functional_restoration.progress_check_weeks')} weeks" in result(det, "functional_restoration.progress_check").reason


def test_acupuncture_extension_dated_2024_is_judged_under_the_amended_amtg() -> None:
    det = KB.evaluate(ROOT / "tests" / "cases" / "mtus_current" / "acupuncture-extension-in-2024-judged-under-amended-amtg.yaml")
    assert det.decision is Decision.CERTIFIED
    assert det.receipt.guideline_version == "amtg-2017"
    assert all("§9792.24.1 as amended effective 2017-12-01" in r.citation for r in det.criteria)


def test_low_back_pt_in_2024_names_the_acoem_low_back_guideline_in_force_and_why() -> None:
    det = KB.evaluate(ROOT / "tests" / "cases" / "mtus_current" / "low-back-pt-in-2024-names-acoem-low-back-2020.yaml")
    assert det.decision is Decision.CRITERIA_UNAVAILABLE and det.approved_quantity is None
    assert "ACOEM Low Back Disorders Guideline (2020-02-13)" in det.summary and "§9792.23.5" in det.summary
    assert "MTUS ACOEM Chronic Pain Guideline (2017)" in det.summary
    assert "licensed" in det.summary and "never applied in their place" in det.summary
    assert "Physical Medicine Guidelines" not in kb_core.determination_json(det)  # no 2009/2016 criterion ran


def test_under_the_licensed_text_a_statutory_cap_that_still_fails_is_named_and_decides() -> None:
    det = KB.evaluate(ROOT / "tests" / "cases" / "chiropractic" / "acoem-era-2018-cap-nearly-used-still-applies-no-criteria.yaml")
    assert det.decision is Decision.CRITERIA_UNAVAILABLE and det.deciding_criteria == ("chiropractic.visit_cap",)
    assert "Still applies on this date: chiropractic.visit_cap (not met: " in det.summary
    assert det.summary.endswith("; at most 4 could be certified).")
    met = [r.criterion for r in det.criteria if r.status is kb_core.Status.MET]
    assert not any(cid in det.summary for cid in met)  # only what fails is named


def test_mtus_plugins_lists_the_new_plugins() -> None:
    from click.testing import CliRunner

    out = CliRunner().invoke(main, ["plugins", "--no-conformance"]).stdout
    for name in NEW_PLUGINS:
        assert f"{name} 0.1.0  (mtus-kb: kb_plugins.{name})" in out
    assert "acoem-2017     2017-12-01 to today        not encoded: criteria_unavailable" in out


@pytest.mark.parametrize("plugin", NEW_PLUGINS)
def test_new_plugin_passes_the_conformance_kit(plugin: str) -> None:
    cases = sorted((ROOT / "tests" / "cases" / plugin).glob("*.yaml"))
    report = check_plugin(plugin, kb=KB, case_files=cases, examples=40)
    assert report.ok, report.problems
    assert report.sample_cases == len(cases) >= 10 and report.sample_cases_agreeing == len(cases)
    assert report.properties_checked >= 40


def test_every_new_criterion_has_a_tag_a_citation_and_a_burden_basis() -> None:
    gs = KB.guidelines
    for plugin in NEW_PLUGINS:
        for cid in gs.treatments[plugin].criteria:
            criterion = gs.criteria[cid]
            assert criterion.verification.status in ("V", "D", "K", "U") and criterion.citation.section
            assert criterion.when_undocumented.basis, cid


# ---------------------------------------------------------------- properties from the YAML thresholds


@given(st.data())
def test_rental_longer_than_the_trial_is_never_certified(data: st.DataObject) -> None:
    days = data.draw(boundary_numbers(KB, "electrotherapy").filter(lambda n: n >= 1))
    det = KB.evaluate(with_device(CRPS_RENTAL, rental_days=days))
    certified = det.decision is Decision.CERTIFIED
    assert certified is (days <= param("electrotherapy.trial_days")), (days, det.summary)


@given(st.data())
def test_purchase_needs_a_trial_of_the_yaml_length(data: st.DataObject) -> None:
    days = data.draw(boundary_numbers(KB, "electrotherapy"))
    trial = {"device": "tens", "days": days, "use_documented": True, "pain_relief": True, "functional_improvement": True}
    case = with_device(CRPS_RENTAL, acquisition="purchase", rental_days=None)
    det = KB.evaluate({**case, "findings": {**case["findings"], "device_trial": trial}})
    assert (det.decision is Decision.CERTIFIED) is (days >= param("electrotherapy.trial_days")), (days, det.summary)


@given(st.integers(1, 8), st.booleans())
def test_more_leads_than_the_standard_need_a_justification(leads: int, justified: bool) -> None:
    det = KB.evaluate(with_device(CRPS_RENTAL, leads=leads, four_lead_justified=justified))
    assert (det.decision is Decision.CERTIFIED) is (leads <= param("electrotherapy.standard_leads") or justified)


@given(st.integers(0, 60), st.integers(1, 40))
def test_postoperative_tens_stays_within_the_yaml_window(days_after: int, rental: int) -> None:
    surgery = dt.date(2015, 2, 2)
    det = KB.evaluate({
        "dates": {"injury": "2014-09-02", "request": (surgery + dt.timedelta(days=days_after)).isoformat()},
        "request": {"treatment": "tens", "quantity": 1, "post_surgical": {"surgery": "carpal tunnel release", "surgery_date": surgery.isoformat(), "surgery_certified": True},
                    "device": {"item": "unit", "acquisition": "rental", "rental_days": rental, "leads": 2}},
    })
    window, trial = param("electrotherapy.postoperative_days"), param("electrotherapy.trial_days")
    assert (det.decision is Decision.CERTIFIED) is (days_after + rental <= window and rental <= trial), det.summary


@given(st.data())
def test_tens_needs_the_yaml_months_of_pain(data: st.DataObject) -> None:
    months = data.draw(boundary_numbers(KB, "electrotherapy").filter(lambda n: 1 <= n <= 12))
    request_day = dt.date(2015, 6, 15)
    years, month = divmod(request_day.month - 1 - months, 12)
    injury = dt.date(request_day.year + years, month + 1, 15) + dt.timedelta(days=data.draw(st.sampled_from([-1, 0, 1])))
    det = KB.evaluate({**CRPS_RENTAL, "dates": {"injury": injury.isoformat(), "request": request_day.isoformat()}})
    whole_months = (request_day.year - injury.year) * 12 + request_day.month - injury.month - (request_day.day < injury.day)
    assert (det.decision is Decision.CERTIFIED) is (whole_months >= param("electrotherapy.min_pain_months")), (injury, det.summary)


@given(st.data())
def test_massage_total_above_the_limit_is_modified_to_what_fits(data: st.DataObject) -> None:
    near = st.one_of(boundary_numbers(KB, "massage"), st.integers(0, 14))
    given_before, requested = data.draw(near), data.draw(near.filter(lambda n: n > 0))
    det = KB.evaluate({
        "dates": {"injury": "2014-06-02", "request": "2015-03-02"},
        "request": {"treatment": "massage", "quantity": requested, "purpose": "continuation" if given_before else "initial"},
        "prior_treatments": [{"treatment": "massage", "count": given_before, "functional_improvement": True}] if given_before else [],
        "findings": {"adjunct_to_active_rehabilitation": True},
    })
    limit = param("massage.max_visits")
    if given_before + requested <= limit:
        assert (det.decision, det.approved_quantity) == (Decision.CERTIFIED, requested)
    elif given_before < limit:
        assert (det.decision, det.approved_quantity) == (Decision.MODIFIED, limit - given_before)
    else:
        assert det.decision is Decision.NON_CERTIFIED


@given(st.data())
def test_frp_sessions_beyond_the_yaml_total_are_never_certified_without_a_rationale(data: st.DataObject) -> None:
    near = st.one_of(boundary_numbers(KB, "functional_restoration"), st.integers(0, 30))
    given_before, requested = data.draw(near.filter(lambda n: n > 0)), data.draw(near.filter(lambda n: n > 0))
    rationale = data.draw(st.booleans())
    program = dict.fromkeys(["baseline_functional_testing", "previous_methods_failed", "no_other_options", "significant_loss_of_function",
                             "motivation_to_change", "negative_predictors_addressed", "subjective_gains", "objective_gains"], True)
    det = KB.evaluate({
        "dates": {"injury": "2012-04-02", "request": "2015-03-02"},
        "request": {"treatment": "functional_restoration", "quantity": requested, "unit": "days", "frequency_per_week": 5, "purpose": "continuation"},
        "prior_treatments": [{"treatment": "functional_restoration", "count": given_before, "status": "ongoing", "start": "2015-02-16"}],
        "findings": {"surgical_candidate": False, "program": {**program, "extension_rationale": rationale}},
    })
    total = result(det, "functional_restoration.total_sessions")
    within = given_before + requested <= param("functional_restoration.max_full_day_sessions")
    assert (total.status is Status.MET) is (within or rationale)
    if not within and not rationale:
        assert det.decision is not Decision.CERTIFIED


@given(st.data())
def test_a_first_frp_request_covers_at_most_the_yaml_weeks(data: st.DataObject) -> None:
    weeks = data.draw(st.one_of(boundary_numbers(KB, "functional_restoration"), st.integers(1, 8)).filter(lambda n: n > 0))
    det = KB.evaluate({
        "dates": {"injury": "2012-04-02", "request": "2015-03-02"},
        "request": {"treatment": "functional_restoration", "frequency_per_week": 5, "duration_weeks": weeks, "unit": "days", "purpose": "initial"},
    })
    first = result(det, "functional_restoration.initial_two_weeks")
    assert (first.status is Status.MET) is (weeks <= param("functional_restoration.progress_check_weeks"))


@given(st.data())
def test_aquatic_visits_follow_the_physical_medicine_allowance(data: st.DataObject) -> None:
    version = data.draw(st.sampled_from(["cpmtg-2009", "cpmtg-2016"]))
    allowance = param("physical_medicine.visits_by_diagnosis", version)["myalgia_myositis"]
    requested = data.draw(st.sampled_from([allowance - 1, allowance, allowance + 1]))
    request_day = "2015-03-02" if version == "cpmtg-2009" else "2017-03-06"
    det = KB.evaluate({
        "dates": {"request": request_day},
        "diagnoses": [{"description": "myalgia", "category": "myalgia_myositis"}],
        "request": {"treatment": "aquatic_therapy", "body_regions": ["lumbar_spine"], "quantity": requested},
        "findings": {"reduced_weight_bearing_indicated": True},
    })
    if requested <= allowance:
        assert (det.decision, det.approved_quantity) == (Decision.CERTIFIED, requested)
    else:
        assert (det.decision, det.approved_quantity) == (Decision.MODIFIED, allowance)
    assert det.receipt.guideline_version == version


# ---------------------------------------------------------------- the MTUS from 2017-12-01


def _topic_rows() -> list[tuple[str, str]]:
    """Every (region, ACOEM version) pair the YAML declares."""
    gs = KB.guidelines
    return [(region, vid) for region, source in param("shared.acoem_clinical_topic_by_region").items() for vid in gs.sources[source].versions]


@pytest.mark.parametrize(("region", "vid"), _topic_rows())
def test_criteria_unavailable_names_the_body_part_guideline_in_force_on_the_date(region: str, vid: str) -> None:
    version = KB.guidelines.versions[vid]
    for day in filter(None, (version.effective_from, version.effective_until)):
        det = KB.evaluate({"dates": {"request": day.isoformat()}, "request": {"treatment": "massage", "body_regions": [region], "quantity": 4}})
        assert det.decision is Decision.CRITERIA_UNAVAILABLE
        assert version.label in det.summary, (region, day, det.summary)


def test_the_date_of_service_chooses_the_version_from_the_2017_order_on() -> None:
    base = {"request": {"treatment": "massage", "body_regions": ["lumbar_spine"], "quantity": 4}, "findings": {"home_exercise_program": True}}
    switch = dt.date.fromisoformat(param("shared.version_by_service_date_from"))
    before, on = switch - dt.timedelta(days=1), switch
    by_request = KB.evaluate({**base, "dates": {"request": (switch - dt.timedelta(days=20)).isoformat(), "service": before.isoformat()}})
    by_service = KB.evaluate({**base, "dates": {"request": (switch - dt.timedelta(days=20)).isoformat(), "service": on.isoformat()}})
    assert by_request.decision is Decision.CERTIFIED and by_request.receipt.guideline_version == "cpmtg-2016"
    assert by_service.decision is Decision.CRITERIA_UNAVAILABLE and by_service.receipt.guideline_version == "acoem-2017"
    assert by_service.receipt.version_chosen_by.startswith(f"date of service {on}")


def test_a_treatment_the_mtus_does_not_address_cites_the_search_sequence() -> None:
    det = KB.evaluate({"dates": {"request": "2024-05-06"}, "request": {"treatment": "inpatient_rehabilitation"}})
    assert det.decision is Decision.NOT_ADDRESSED and det.criteria == ()
    assert "§9792.21.1" in det.summary and "level of inpatient rehabilitation care" in det.summary
    text = kb_core.determination_text(det)
    assert text.startswith("DECISION: NOT-ADDRESSED")


def test_the_statutory_cap_still_decides_after_2017() -> None:
    case = {"dates": {"injury": "2023-01-02", "request": "2024-03-04"},
            "request": {"treatment": "physical_therapy", "body_regions": ["knee"], "quantity": 6},
            "prior_treatments": [{"treatment": "physical_therapy", "count": param("shared.visit_cap_per_injury")}]}
    det = KB.evaluate(case)
    assert det.decision is Decision.NON_CERTIFIED and det.deciding_criteria == ("physical_medicine.visit_cap",)
    fewer = KB.evaluate({**case, "prior_treatments": [{"treatment": "physical_therapy", "count": param("shared.visit_cap_per_injury") - 4}]})
    assert fewer.decision is Decision.CRITERIA_UNAVAILABLE and "at most 4 could be certified" in fewer.summary


def test_new_decisions_are_byte_stable_and_allowed_as_expectations() -> None:
    for path in (ROOT / "tests" / "cases" / "mtus_current").glob("*.yaml"):
        case = kb_core.load_case(path)
        assert kb_core.determination_json(KB.evaluate(case)) == kb_core.determination_json(load_first_party().evaluate(case))


def test_reviewer_criteria_of_real_decisions_name_known_criteria() -> None:
    for path in sorted((ROOT / "tests" / "cases" / "imr").glob("*.yaml")):
        expected = kb_core.load_case(path).expected
        assert expected is not None
        for cid in expected.reviewer_criteria or ():
            assert cid in KB.guidelines.criteria, (path.name, cid)


def test_mtus_plugins_says_what_still_runs_where_the_clinical_text_is_not_encoded() -> None:
    """The statute-only eras and the licensed ACOEM era are not 'encoded': only the cap
    (and, after 2017-12-01, the retained postsurgical text) still runs there."""
    import json

    from click.testing import CliRunner

    out = CliRunner().invoke(main, ["plugins", "--no-conformance"]).stdout
    assert "acoem2-2004    2004-01-01 to 2007-06-14   not encoded: no_criteria; still applied: visit_cap" in out
    assert "not encoded: criteria_unavailable; still applied: surgery_supported, postsurgical_course, visit_cap" in out
    rows = json.loads(CliRunner().invoke(main, ["plugins", "--no-conformance", "--format", "json"]).stdout)["plugins"]
    versions = {v["id"]: v for row in rows if row["name"] == "physical_medicine" for t in row["treatments"] for v in t["versions"]}
    assert versions["cpmtg-2016"]["encoded"] is True and versions["cpmtg-2016"]["still_applied"] == []
    assert versions["acoem2-2004"] == {**versions["acoem2-2004"], "encoded": False, "still_applied": ["physical_medicine.visit_cap"]}
