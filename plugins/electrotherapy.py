"""Electrotherapy evaluators: TENS (home trial, purchase, leads, post-operative use,
supplies), interferential current, NMES, H-wave, galvanic stimulation and clinic e-stim.

Numbers, word lists and citations live in ``guidelines/electrotherapy.yaml``. Which
criteria apply depends on the request kind and on whether the device is for after a
surgery (post-operative TENS is judged by the surgery and the 30-day window only).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from kb_core import Case, Evaluator, Finding, evaluator, hookimpl
from kb_core._resources import files
from kb_plugins._caps import falls_with_surgery
from kb_plugins._text import mentions

T = "electrotherapy"
CLINIC_KIND = "electrical_stimulation"  # e-stim given at visits: the request kind itself says clinic


def _post_operative(case: Case) -> bool:
    return case.request.post_surgical is not None


def _home_trial(case: Case, p: Mapping[str, Any]) -> Finding | None:
    """Not applicable unless the request is a (non-post-operative) home trial kind."""
    kind = case.request.treatment
    if kind not in p["home_trial_kinds"]:
        return Finding.not_applicable(lambda: f"{kind.replace('_', ' ')} is judged by other criteria")
    if _post_operative(case):
        return Finding.not_applicable("post-operative use: judged by the surgery and the 30-day window")
    return None


def _accessory(case: Case) -> bool:
    """Supplies or a garment: judged only by whether they follow an authorized unit."""
    device = case.request.device
    return device is not None and device.item in ("supplies", "garment")


@evaluator(f"{T}.surgery_supported")
def surgery_supported(case: Case, p: Mapping[str, Any]) -> Finding:
    return falls_with_surgery(
        case, not_postoperative="not a post-operative request", dependent="this device is for", falls="the device",
    )


@evaluator(f"{T}.not_recommended_modality")
def not_recommended_modality(case: Case, p: Mapping[str, Any]) -> Finding:
    kind = case.request.treatment
    if kind in p["not_recommended_kinds"]:
        return Finding.not_met(lambda: f"{kind.replace('_', ' ')} is not recommended for chronic pain")
    return Finding.not_applicable(lambda: f"{kind.replace('_', ' ')} is not among the stimulations the text does not recommend")


@evaluator(f"{T}.home_based_trial")
def home_based_trial(case: Case, p: Mapping[str, Any]) -> Finding:
    kind, device = case.request.treatment, case.request.device
    if kind == CLINIC_KIND or (device is not None and device.delivery == "clinic"):
        return Finding.not_met("stimulation at clinic visits is not the home-based trial the guideline supports; it is a passive treatment, not a primary one")
    skip = _home_trial(case, p)
    if skip is not None or _accessory(case):
        return skip or Finding.not_applicable("supplies follow the unit")
    if device is not None and device.delivery == "home":
        return Finding.met("a unit for use at home")
    return Finding.not_documented("where the stimulation is given is not stated")


@evaluator(f"{T}.listed_condition")
def listed_condition(case: Case, p: Mapping[str, Any]) -> Finding:
    kind = case.request.treatment
    terms = p["indication_terms"].get(kind)
    if terms is None or _post_operative(case) or _accessory(case):
        return Finding.not_applicable("no list of conditions applies to this request")
    if not case.diagnoses:
        return Finding.not_documented("no diagnosis is documented")
    for dx in case.diagnoses:
        if mentions(dx.description, terms) or (dx.category is not None and mentions(dx.category.replace("_", " "), terms)):
            return Finding.met(lambda: f"'{dx.description}' is among the conditions the trial is for")
    named = "; ".join(dx.description for dx in case.diagnoses)
    return Finding.not_met(lambda: f"none of the diagnoses ({named}) is among the conditions a {kind.replace('_', '-')} trial is for")


def _months_between(start: dt.date, end: dt.date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month - (end.day < start.day)


@evaluator(f"{T}.chronic_pain_duration")
def chronic_pain_duration(case: Case, p: Mapping[str, Any]) -> Finding:
    if case.request.treatment != "tens" or _post_operative(case) or _accessory(case):
        return Finding.not_applicable("applies to a TENS trial for chronic pain")
    need = p["min_pain_months"]
    stated = case.findings.chronic_pain
    if stated is not None:
        return Finding.from_fact(
            stated, met="chronic pain (3 months or more) is documented",
            not_met="the pain is documented as not chronic", not_documented="",
        )
    injury = case.dates.injury
    if injury is None:
        return Finding.not_documented(f"neither chronic pain nor a date of injury is documented, so {need} months of pain cannot be shown")
    on = case.dates.service or case.dates.decisive
    months = _months_between(injury, on)
    if months >= need:
        return Finding.met(lambda: f"{months} months from injury ({injury}) to {on}: at least {need}")
    return Finding.not_met(lambda: f"{months} months from injury ({injury}) to {on}: fewer than {need}")


@evaluator(f"{T}.adjunct_to_functional_restoration")
def adjunct_to_functional_restoration(case: Case, p: Mapping[str, Any]) -> Finding:
    skip = _home_trial(case, p)
    if skip is not None or _accessory(case):
        return skip or Finding.not_applicable("supplies follow the unit")
    return Finding.from_fact(
        case.findings.adjunct_to_active_rehabilitation,
        met="used as an adjunct to a functional restoration or active rehabilitation program",
        not_met="no functional restoration or active program: the device would be a stand-alone treatment",
        not_documented="no functional restoration program is documented alongside the device",
    )


@evaluator(f"{T}.other_modalities_failed")
def other_modalities_failed(case: Case, p: Mapping[str, Any]) -> Finding:
    skip = _home_trial(case, p)
    if skip is not None or _accessory(case):
        return skip or Finding.not_applicable("supplies follow the unit")
    failed = case.findings.other_modalities_failed
    if failed is None and case.request.treatment == "interferential_current" and case.findings.medication_reduced_or_not_tolerated:
        return Finding.met("medication is ineffective or not tolerated")
    return Finding.from_fact(
        failed,
        met="other appropriate pain modalities, including medication, were tried and failed",
        not_met="other pain modalities have not been tried and failed",
        not_documented="that other pain modalities, including medication, were tried and failed is not documented",
    )


@evaluator(f"{T}.h_wave_after_tens")
def h_wave_after_tens(case: Case, p: Mapping[str, Any]) -> Finding:
    if case.request.treatment != "h_wave" or _accessory(case):
        return Finding.not_applicable("applies to H-wave requests")
    trials = case.prior("tens")
    earlier = case.findings.device_trial
    tens_trial = earlier if earlier is not None and earlier.device == "tens" else None
    helped = [t.functional_improvement for t in trials] + ([tens_trial.functional_improvement] if tens_trial else [])
    if any(h is True for h in helped):
        return Finding.not_met("the TENS trial improved function: H-wave is for when TENS has failed", prior_treatments=trials)
    if helped and all(h is False for h in helped):
        return Finding.met("a TENS trial failed to improve function", prior_treatments=trials)
    return Finding.not_documented("no failed TENS trial is documented", prior_treatments=trials)


@evaluator(f"{T}.treatment_plan_goals")
def treatment_plan_goals(case: Case, p: Mapping[str, Any]) -> Finding:
    skip = _home_trial(case, p)
    if skip is not None or _accessory(case):
        return skip or Finding.not_applicable("supplies follow the unit")
    return Finding.from_fact(
        case.findings.treatment_plan_goals,
        met="a treatment plan with short- and long-term goals for the unit is documented",
        not_met="the plan states no goals for the unit",
        not_documented="no treatment plan with short- and long-term goals for the unit is documented",
    )


@evaluator(f"{T}.trial_before_purchase")
def trial_before_purchase(case: Case, p: Mapping[str, Any]) -> Finding:
    if case.request.treatment not in p["home_trial_kinds"] or _accessory(case):
        return Finding.not_applicable("no device is acquired by this request")
    device = case.request.device
    acquisition = device.acquisition if device else None
    if acquisition == "rental":
        return Finding.met("a rental, as the trial calls for")
    if acquisition is None:
        if _post_operative(case):
            return Finding.not_applicable("post-operative use: no home trial precedes it")
        return Finding.not_documented("the request does not say whether the unit is rented for a trial or purchased")
    need = p["trial_days"]
    trial = case.findings.device_trial
    if trial is None or trial.days is None:
        return Finding.not_documented(f"purchase requested without a documented home trial of {need} days")
    if trial.days < need:
        return Finding.not_met(lambda: f"purchase after a {trial.days}-day trial; the trial lasts {need} days")
    if trial.pain_relief is False and trial.functional_improvement is False:
        return Finding.not_met(lambda: f"the {trial.days}-day trial gave neither pain relief nor functional improvement")
    if trial.use_documented and (trial.pain_relief or trial.functional_improvement):
        gained = " and ".join(g for g, ok in (("pain relief", trial.pain_relief), ("functional improvement", trial.functional_improvement)) if ok)
        return Finding.met(lambda: f"a {trial.days}-day home trial with documented use and {gained}")
    return Finding.not_documented(lambda: f"a {trial.days}-day trial is stated, but not how often the unit was used and what it did for pain and function")


@evaluator(f"{T}.rental_length")
def rental_length(case: Case, p: Mapping[str, Any]) -> Finding:
    device = case.request.device
    if device is None or device.acquisition != "rental":
        return Finding.not_applicable("not a rental")
    need = p["trial_days"]
    if device.rental_days is None:
        return Finding.not_documented("the length of the rental is not stated")
    if device.rental_days <= need:
        return Finding.met(lambda: f"a {device.rental_days}-day rental, within the {need}-day trial")
    return Finding.not_met(lambda: f"a {device.rental_days}-day rental, longer than the {need}-day trial")


@evaluator(f"{T}.lead_count")
def lead_count(case: Case, p: Mapping[str, Any]) -> Finding:
    device = case.request.device
    if case.request.treatment != "tens" or _accessory(case):
        return Finding.not_applicable("applies to a TENS unit")
    standard = p["standard_leads"]
    if device is None or device.leads is None:
        return Finding.not_documented("the number of leads is not stated")
    if device.leads <= standard:
        return Finding.met(lambda: f"a {device.leads}-lead unit")
    if device.four_lead_justified:
        return Finding.met(lambda: f"a {device.leads}-lead unit, with the need for more than {standard} leads documented")
    return Finding.not_met(lambda: f"a {device.leads}-lead unit without documentation of why more than {standard} leads are needed")


@evaluator(f"{T}.supplies_follow_unit")
def supplies_follow_unit(case: Case, p: Mapping[str, Any]) -> Finding:
    device = case.request.device
    item = device.item if device else None
    if device is None or item not in ("supplies", "garment"):
        return Finding.not_applicable("the request is for a unit, not supplies")
    if item == "garment" and device.large_area_justified is False:
        return Finding.not_met("a conductive garment without an area too large for conventional electrodes")
    if device.unit_authorized is False:
        return Finding.not_met(f"{item} for a unit that is not authorized")
    if device.unit_authorized is None:
        return Finding.not_documented(f"{item} requested, but no authorized unit is documented")
    if item == "garment" and device.large_area_justified is None:
        return Finding.not_documented("a conductive garment without documentation of an area too large for conventional electrodes")
    return Finding.met(f"{item} for an authorized unit")


@evaluator(f"{T}.postoperative_window")
def postoperative_window(case: Case, p: Mapping[str, Any]) -> Finding:
    post = case.request.post_surgical
    if post is None or case.request.treatment != "tens":
        return Finding.not_applicable("not post-operative TENS")
    limit = p["postoperative_days"]
    if post.surgery_date is None:
        return Finding.not_documented(f"the date of surgery is not documented, so use within {limit} days of it cannot be shown")
    device = case.request.device
    on = case.dates.service or case.dates.decisive
    days = (on - post.surgery_date).days
    if days > limit:
        return Finding.not_met(lambda: f"{days} days after surgery ({post.surgery_date}); post-operative TENS is for the first {limit}")
    if device is not None and device.rental_days is not None and max(days, 0) + device.rental_days > limit:
        return Finding.not_met(lambda: f"a {device.rental_days}-day rental from day {max(days, 0)} runs past the first {limit} days after surgery")
    return Finding.met(lambda: f"within the first {limit} days after surgery ({post.surgery_date})")


@hookimpl
def mtus_guideline_files() -> list[Any]:
    return [files("kb_guidelines") / "electrotherapy.yaml"]


@hookimpl
def mtus_evaluators() -> list[Evaluator]:
    return [
        surgery_supported, not_recommended_modality, home_based_trial, listed_condition, chronic_pain_duration,
        adjunct_to_functional_restoration, other_modalities_failed, h_wave_after_tens, treatment_plan_goals,
        trial_before_purchase, rental_length, lead_count, supplies_follow_unit, postoperative_window,
    ]
