"""The case: one treatment request and its documented facts, as frozen values.

A case is validated once, at the edge (:func:`parse_case`); evaluators then read plain
attributes. ``None`` always means "not documented", never "no".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import operator
from collections.abc import Callable, Mapping
from dataclasses import field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from kb_core._records import record
from kb_core._schemas import generated_check, validate
from kb_core._yaml import CASE_LIMITS, check_document, line_of, read_document
from kb_core.errors import CaseError

Date = dt.date


@record
class Dates:
    injury: Date | None = None
    request: Date | None = None
    ur_decision: Date | None = None
    service: Date | None = None

    @property
    def decisive(self) -> Date:
        """The date that chooses the guideline version: request, else the UR decision."""
        chosen = self.request or self.ur_decision
        assert chosen is not None  # the schema requires one of them
        return chosen


@record
class Worker:
    job_title: str | None = None
    physical_demand_level: str | None = None
    work_status: str | None = None
    returned_to_work: bool | None = None


@record
class Diagnosis:
    description: str
    body_region: str | None = None
    icd10: str | None = None
    category: str | None = None


@record
class PostSurgical:
    surgery: str | None = None
    procedure: str | None = None
    surgery_date: Date | None = None
    surgery_certified: bool | None = None


@record
class AddOn:
    """An item bundled into the request line, judged in its own right."""

    description: str
    kind: str | None = None


@record
class Device:
    """What an electrotherapy request asks for (see ``request.device`` in the case schema)."""

    item: str | None = None  # unit | supplies | garment
    acquisition: str | None = None  # rental | purchase
    rental_days: int | None = None
    leads: int | None = None
    four_lead_justified: bool | None = None
    delivery: str | None = None  # home | clinic
    unit_authorized: bool | None = None
    large_area_justified: bool | None = None


@record
class DeviceTrial:
    """A home stimulator trial already done, with its outcome."""

    device: str | None = None
    days: int | None = None
    use_documented: bool | None = None
    pain_relief: bool | None = None
    functional_improvement: bool | None = None
    medication_reduced: bool | None = None
    ongoing_treatment_documented: bool | None = None


@record
class Program:
    """Admission evaluation and progress of a functional restoration program."""

    baseline_functional_testing: bool | None = None
    previous_methods_failed: bool | None = None
    no_other_options: bool | None = None
    significant_loss_of_function: bool | None = None
    motivation_to_change: bool | None = None
    negative_predictors_addressed: bool | None = None
    subjective_gains: bool | None = None
    objective_gains: bool | None = None
    extension_rationale: bool | None = None
    residential: bool | None = None


@record
class Request:
    treatment: str
    body_regions: tuple[str, ...] = ()
    quantity: int | None = None
    unit: str | None = None
    frequency_per_week: float | None = None
    duration_weeks: float | None = None
    hours_per_day: float | None = None
    purpose: str | None = None
    ur_authorized_quantity: int | None = None
    post_surgical: PostSurgical | None = None
    duplicates_authorized: bool | None = None
    add_ons: tuple[AddOn, ...] = ()
    device: Device | None = None

    @property
    def implied_quantity(self) -> int | None:
        """The quantity stated (a number of weeks resolved to visits, as a week is not a
        treatment), else frequency x duration when both are stated."""
        if self.quantity is not None:
            return self.visits if self.unit == "weeks" else self.quantity
        if self.frequency_per_week and self.duration_weeks:
            return round(self.frequency_per_week * self.duration_weeks)
        return None

    @property
    def weeks(self) -> float | None:
        """Requested duration, stated or implied by quantity and weekly frequency."""
        if self.duration_weeks is not None:
            return self.duration_weeks
        per_week = self.per_week
        if self.quantity is not None and per_week:
            return self.quantity / per_week
        return None

    @property
    def visits(self) -> int | None:
        """The number of visits (sessions) requested, whatever unit the quantity is stated in.

        ``visits``/``sessions``/no unit: the quantity; ``days``: one session a day; ``weeks``:
        weeks x weekly frequency; ``hours``: hours / hours a day. With no quantity: weekly
        frequency x duration. None when the facts stated do not resolve to one count.
        Plugins read this, never ``quantity`` directly, so a unit is never misread.
        """
        quantity, unit = self.quantity, self.unit
        if quantity is None:
            if self.frequency_per_week and self.duration_weeks:
                return round(self.frequency_per_week * self.duration_weeks)
            return None
        if unit in (None, "visits", "sessions", "days"):
            return quantity
        if unit == "weeks":
            return round(quantity * self.frequency_per_week) if self.frequency_per_week else None
        if unit == "hours":
            return round(quantity / self.hours_per_day) if self.hours_per_day else None
        return None

    @property
    def span_weeks(self) -> float | None:
        """The weeks the request spans: stated duration, a quantity in weeks, or visits over
        weekly frequency. None when they cannot be resolved."""
        if self.duration_weeks is not None:
            return self.duration_weeks
        if self.quantity is not None and self.unit == "weeks":
            return float(self.quantity)
        visits = self.visits
        if visits is not None and self.frequency_per_week:
            return visits / self.frequency_per_week
        return None

    @property
    def per_week(self) -> float | None:
        """Units of ``quantity`` given per week: sessions, or hours for hour-based requests."""
        if self.frequency_per_week is None:
            return None
        if self.unit == "hours":
            return self.frequency_per_week * self.hours_per_day if self.hours_per_day else None
        return self.frequency_per_week


@record
class PriorTreatment:
    treatment: str
    body_regions: tuple[str, ...] = ()
    count: int | None = None
    start: Date | None = None
    end: Date | None = None
    status: str | None = None
    functional_improvement: bool | None = None
    plateau: bool | None = None
    post_surgical: bool | None = None
    note: str | None = None
    improvement: str | None = None  # objective | reported | none
    improvement_measures: tuple[str, ...] = ()
    count_at_least: bool | None = None
    approved_count: int | None = None


@record
class ConcurrentTreatment:
    """Another therapy for the same injury: requested, authorized but not started, or ongoing."""

    treatment: str
    status: str | None = None
    body_regions: tuple[str, ...] = ()
    count: int | None = None


@record
class Findings:
    musculoskeletal_condition: bool | None = None
    functional_limitations_preclude_job: bool | None = None
    fce_valid_below_job_demands: bool | None = None
    surgical_candidate: bool | None = None
    tolerance_hours_per_day: float | None = None
    tolerance_days_per_week: float | None = None
    return_to_work_goal: str | None = None
    return_to_work_goal_agreed: bool | None = None
    screening_completed: bool | None = None
    likely_to_benefit_from_more_pt: bool | None = None
    compliance_and_gains_documented: bool | None = None
    home_exercise_program: bool | None = None
    medication_reduced_or_not_tolerated: bool | None = None
    adjunct_to_active_rehabilitation: bool | None = None
    plan_of_care_recommends_treatment: bool | None = None
    flare_up: bool | None = None
    chronic_pain: bool | None = None
    objective_functional_deficits: bool | None = None
    exceptional_factors_documented: bool | None = None
    injury_phase: str | None = None  # acute | subacute | chronic, as the record states it
    reported_functional_limitations: bool | None = None
    concurrent_rationale_documented: bool | None = None
    other_modalities_failed: bool | None = None
    treatment_plan_goals: bool | None = None
    device_trial: DeviceTrial | None = None
    program: Program | None = None
    reduced_weight_bearing_indicated: bool | None = None


@record
class Expected:
    decision: str | None = None
    approved_quantity: int | None = None
    failed_criteria: tuple[str, ...] | None = None
    imr_outcome: str | None = None
    known_disagreement: str | None = None
    # What the real reviewer relied on: criterion ids (None: not recorded) and free text.
    reviewer_criteria: tuple[str, ...] | None = None
    reviewer_reasons: str | None = None
    # Pinned statuses of named criteria (e.g. not_met vs not_documented), as (id, status) pairs.
    criterion_status: tuple[tuple[str, str], ...] | None = None


@record
class Case:
    """A treatment request with its documented facts. Build one with :func:`parse_case`."""

    dates: Dates
    request: Request
    case_id: str | None = None
    description: str | None = None
    source: str | None = None
    worker: Worker = field(default_factory=Worker)
    diagnoses: tuple[Diagnosis, ...] = ()
    prior_treatments: tuple[PriorTreatment, ...] = ()
    concurrent_treatments: tuple[ConcurrentTreatment, ...] = ()
    findings: Findings = field(default_factory=Findings)
    extra: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    expected: Expected | None = None
    path: str | None = None
    # Answers of prior() by kinds asked: evaluators ask the same few questions of a case
    # many times. Not part of the case's value (no init, repr or comparison).
    _prior_memo: dict[tuple[str, ...], tuple[PriorTreatment, ...]] = field(default_factory=dict, init=False, repr=False, compare=False)
    # True only for a case parse_case built: one made or changed in Python (Case(...),
    # dataclasses.replace) is checked again before it is evaluated (see checked_case).
    _checked: bool = field(default=False, init=False, repr=False, compare=False)

    def prior(self, *treatments: str) -> tuple[PriorTreatment, ...]:
        """Prior treatments of the given kinds, in the order documented."""
        memo = self._prior_memo
        found = memo.get(treatments)
        if found is None:
            found = memo[treatments] = tuple(p for p in self.prior_treatments if p.treatment in treatments)
        return found


_BUILT_CLASSES = (Dates, Worker, Diagnosis, PostSurgical, AddOn, Device, DeviceTrial, Program, Request, PriorTreatment,
                  ConcurrentTreatment, Findings, Expected, Case)  # every class a case is made of
_CASE_CLASSES = frozenset(_BUILT_CLASSES)


def _date(value: str | None, path: str, where: str, document: Any, location: tuple[Any, ...]) -> Date | None:
    if value is None:
        return None
    try:
        return Date.fromisoformat(value)
    except ValueError:
        raise CaseError(
            f"'{value}' is not a calendar date",
            path=path,
            line=line_of(document, location),
            where=where,
            fix="write the date as YYYY-MM-DD",
        ) from None


def parse_case(data: Any, path: str | Path | None = None) -> Case:
    """Validate a case mapping against ``case.schema.json`` and build a :class:`Case`.

    Raises:
        CaseError: naming the file, line, key and fix for any invalid or unknown key.
    """
    return _parse_case(data, path, limits_checked=False)


def case_document(case: Case) -> dict[str, Any]:
    """The case as the mapping a case file holds (dates as ISO text, absent facts left out):
    ``parse_case(case_document(c))`` gives a case equal to ``c``."""

    def fields_of(kind: Any, value: Any) -> dict[str, Any]:
        """The fields a document holds, without those left at a default a file leaves out."""
        fields, values = _document_fields(kind), _field_values(kind)(value)
        return {
            name: v if type(v) in _PLAIN_SCALARS else plain(v) for (name, droppable, default), v in zip(fields, values)
            if v is not None and not (droppable and bool(v == default))
        }

    def plain(value: Any) -> Any:
        kind: Any = type(value)
        if kind in _PLAIN_SCALARS:  # the usual leaf, answered before the costlier tests below
            return value
        if kind in _CASE_CLASSES:
            return fields_of(kind, value)
        if isinstance(value, Date):
            return value.isoformat()
        if isinstance(value, (tuple, list)):
            return [plain(v) for v in value]
        if isinstance(value, Mapping):
            return {k: plain(v) for k, v in value.items()}
        if hasattr(value, "__dataclass_fields__"):
            if hasattr(kind, "__dataclass_fields__"):  # an instance: its fields' defaults known once
                return fields_of(kind, value)
            return {
                name: plain(v) for name, f in value.__dataclass_fields__.items()
                if f.init and not name.startswith("_") and (v := getattr(value, name)) is not None and not _is_default(f, v)
            }
        return value

    document = plain(case)
    document.pop("path", None)
    expected = document.get("expected")
    if expected is not None and "criterion_status" in expected:
        expected["criterion_status"] = dict(expected["criterion_status"])
    return document


_PLAIN_SCALARS = frozenset({str, int, float, bool, type(None)})


@functools.cache
def _document_fields(cls: Any) -> tuple[tuple[str, bool, Any], ...]:
    """Per field a case document may hold: its name, whether a value equal to the default
    is left out, and that default (what :func:`_is_default` decides, worked out once)."""
    from dataclasses import MISSING

    out = []
    for name, f in cls.__dataclass_fields__.items():  # type: ignore[attr-defined]
        if not f.init or name.startswith("_"):
            continue
        if f.default is not MISSING:
            out.append((name, True, f.default))
        elif f.default_factory is not MISSING:
            default = f.default_factory()
            out.append((name, not hasattr(default, "__dataclass_fields__"), default))
        else:
            out.append((name, False, None))
    return tuple(out)


@functools.cache
def _field_values(cls: Any) -> Callable[[Any], tuple[Any, ...]]:
    """Reads the values of :func:`_document_fields` in one call."""
    names = [name for name, _, _ in _document_fields(cls)]
    if len(names) > 1:
        return operator.attrgetter(*names)
    return lambda value: tuple(getattr(value, name) for name in names)  # attrgetter gives one value bare, or needs a name


def _is_default(f: Any, value: Any) -> bool:
    """Whether a field holds its default (left out of the document, as a file leaves it out)."""
    from dataclasses import MISSING

    if f.default is not MISSING:
        return bool(value == f.default)
    if f.default_factory is not MISSING:
        default = f.default_factory()
        return bool(value == default) and not hasattr(default, "__dataclass_fields__")
    return False


def checked_case(case: Case) -> Case:
    """``case`` if parse_case built it; otherwise the same case checked as a case file is
    (types, NaN and infinities, limits, dates), so a case made or changed in Python
    cannot pass a value a file could not.

    Raises:
        CaseError: naming the case and the key, as for a file.
    """
    if not isinstance(case, Case):
        raise CaseError(f"expected a Case, got {type(case).__name__}", path="<case>", fix="build the case with kb_core.parse_case")
    if case._checked:
        return case
    try:
        document = case_document(case)
    except (TypeError, ValueError, AttributeError) as exc:
        raise CaseError(f"the case cannot be read as a case document: {exc}", path=f"<case {case.case_id or ''}>".replace(" >", ">"),
                        fix="build the case with kb_core.parse_case") from exc
    try:
        checked = _parse_case(document, None, limits_checked=False)
    except CaseError as exc:
        # The value is in the Case object, not in any file it may have come from.
        origin = f" (built in Python{' from ' + case.path if case.path else ''})"
        raise CaseError(exc.problem, path=f"<case {case.case_id or ''}>".replace(" >", ">") + origin, where=exc.where, fix=exc.fix) from None
    object.__setattr__(checked, "path", case.path)
    return checked


# Generating the fast path (its check and constructors) takes ~10 ms, which ~30 µs saved per
# case wins back only after a few hundred cases: a process reading a few (`mtus evaluate`)
# keeps to the precise path, a batch or service changes over after these many.
_PRECISE_BEFORE_FAST = 200
_precise_parses = 0


def _parse_case(data: Any, path: str | Path | None, limits_checked: bool) -> Case:
    global _precise_parses
    if _precise_parses >= _PRECISE_BEFORE_FAST:
        fast = _fast_case(data, path)
        if fast is not None:
            return fast
    else:
        _precise_parses += 1
    return _precise_case(data, path, limits_checked)


def _precise_case(data: Any, path: str | Path | None, limits_checked: bool) -> Case:
    """Validate and build a case step by step: the source of every error message, and the
    reference the fast path (:func:`_fast_case`) is tested against."""
    case_id = data.get("case_id") if isinstance(data, Mapping) else None
    where_file = str(path) if path is not None else (f"<case {case_id}>" if isinstance(case_id, str) and case_id else "<case>")
    if not limits_checked:  # read_document has checked a file's document already
        check_document(data, where_file, CaseError, CASE_LIMITS)  # NaN/inf, depth and sizes: what the schema cannot say
    validate(data, "case", where_file, CaseError)

    def date_at(*location: Any) -> Date | None:
        node: Any = data
        for step in location:
            node = node.get(step) if isinstance(node, Mapping) else None
            if node is None:
                return None
        return _date(node, where_file, ".".join(map(str, location)), data, location)

    dates = Dates(
        injury=date_at("dates", "injury"),
        request=date_at("dates", "request"),
        ur_decision=date_at("dates", "ur_decision"),
        service=date_at("dates", "service"),
    )
    for later in ("request", "ur_decision"):
        day = getattr(dates, later)
        if dates.injury and day and day < dates.injury:
            raise CaseError(
                f"the {later.replace('_', ' ')} date {day} is before the date of injury {dates.injury}",
                path=where_file, line=line_of(data, ("dates", later)), where=f"dates.{later}",
                fix="correct one of the two dates",
            )
    req = data["request"]
    post = req.get("post_surgical")
    request = Request(
        treatment=req["treatment"],
        body_regions=tuple(req.get("body_regions") or ()),
        quantity=req.get("quantity"),
        unit=req.get("unit"),
        frequency_per_week=req.get("frequency_per_week"),
        duration_weeks=req.get("duration_weeks"),
        hours_per_day=req.get("hours_per_day"),
        purpose=req.get("purpose"),
        ur_authorized_quantity=req.get("ur_authorized_quantity"),
        post_surgical=None
        if post is None
        else PostSurgical(
            surgery=post.get("surgery"),
            procedure=post.get("procedure"),
            surgery_date=date_at("request", "post_surgical", "surgery_date"),
            surgery_certified=post.get("surgery_certified"),
        ),
        duplicates_authorized=req.get("duplicates_authorized"),
        add_ons=tuple(AddOn(**item) for item in req.get("add_ons") or ()),
        device=None if req.get("device") is None else Device(**req["device"]),
    )
    priors = []
    for index, item in enumerate(data.get("prior_treatments") or ()):
        priors.append(
            PriorTreatment(
                treatment=item["treatment"],
                body_regions=tuple(item.get("body_regions") or ()),
                count=item.get("count"),
                start=_date(item.get("start"), where_file, f"prior_treatments[{index}].start", data, ("prior_treatments", index, "start")),
                end=_date(item.get("end"), where_file, f"prior_treatments[{index}].end", data, ("prior_treatments", index, "end")),
                status=item.get("status"),
                functional_improvement=item.get("functional_improvement"),
                plateau=item.get("plateau"),
                post_surgical=item.get("post_surgical"),
                note=item.get("note"),
                improvement=item.get("improvement"),
                improvement_measures=tuple(item.get("improvement_measures") or ()),
                count_at_least=item.get("count_at_least"),
                approved_count=item.get("approved_count"),
            )
        )
    expected = data.get("expected")
    case = Case(
        case_id=data.get("case_id"),
        description=data.get("description"),
        source=data.get("source"),
        dates=dates,
        worker=Worker(**(data.get("worker") or {})),
        diagnoses=tuple(Diagnosis(**d) for d in data.get("diagnoses") or ()),
        request=request,
        prior_treatments=tuple(priors),
        concurrent_treatments=tuple(
            ConcurrentTreatment(
                treatment=item["treatment"], status=item.get("status"),
                body_regions=tuple(item.get("body_regions") or ()), count=item.get("count"),
            )
            for item in data.get("concurrent_treatments") or ()
        ),
        findings=_findings(data.get("findings") or {}),
        extra=MappingProxyType(dict(data.get("extra") or {})),
        notes=tuple(data.get("notes") or ()),
        expected=None
        if expected is None
        else Expected(
            decision=expected.get("decision"),
            approved_quantity=expected.get("approved_quantity"),
            failed_criteria=tuple(expected["failed_criteria"]) if "failed_criteria" in expected else None,
            imr_outcome=expected.get("imr_outcome"),
            known_disagreement=expected.get("known_disagreement"),
            reviewer_criteria=tuple(expected["reviewer_criteria"]) if "reviewer_criteria" in expected else None,
            reviewer_reasons=expected.get("reviewer_reasons"),
            criterion_status=tuple(expected["criterion_status"].items()) if "criterion_status" in expected else None,
        ),
        path=str(path) if path is not None else None,
    )
    object.__setattr__(case, "_checked", True)
    return case


def _findings(data: Mapping[str, Any]) -> Findings:
    """Findings with their grouped sub-objects (device trial, program) as frozen values."""
    nested = {
        "device_trial": None if data.get("device_trial") is None else DeviceTrial(**data["device_trial"]),
        "program": None if data.get("program") is None else Program(**data["program"]),
    }
    return Findings(**{**data, **nested})


def load_case(path: str | Path) -> Case:
    """Read and validate a case file (YAML or JSON)."""
    return _parse_case(read_document(path, CaseError, CASE_LIMITS), path, limits_checked=True)


# ---------------------------------------------------------------- the fast path
#
# A well-formed case mapping (every one a tool or a test sends, nearly) is checked by one
# function generated from case.schema.json and the document limits, then built by the
# constructors below, which trust that check. Anything else, and any value the check lets
# through but the building refuses (an impossible date, a request before the injury), goes
# to _precise_case, which reports it as it always did. tests/test_fast_case.py proves both
# paths accept the same documents and build equal cases.


def _maker(cls: type) -> Callable[..., Any]:
    """A constructor for the frozen dataclass ``cls`` that takes the same arguments as its
    ``__init__`` (and its ``init=False`` fields by keyword) about 5x faster.

    A frozen dataclass sets each field through ``object.__setattr__``, ~100 ns a field on a
    2-core machine, and a case has ~150 fields. Here the fields are set on an instance of a
    twin class with the very same bases and slots that allows plain attribute stores, and
    the instance then becomes a ``cls``: Python allows changing ``__class__`` between
    classes of the same layout, and the object is from then on exactly what ``cls(...)``
    makes. Falls back to ``cls(...)`` (and ``object.__setattr__`` for the ``init=False``
    fields) if the layouts ever differ."""
    fields = dataclasses.fields(cls)
    twin = type(f"_{cls.__name__}Fields", cls.__bases__, {  # the bases too: the layout includes them
        "__slots__": cls.__slots__, "__setattr__": object.__setattr__, "__delattr__": object.__delattr__,  # type: ignore[attr-defined]
    })
    names: dict[str, Any] = {"_new": object.__new__, "_twin": twin, "_cls": cls}
    params: list[str] = []
    keyword_only: list[str] = []
    body: list[str] = []
    for f in fields:
        if f.default is not dataclasses.MISSING:
            names[f"_default_{f.name}"] = f.default
            param = f"{f.name}=_default_{f.name}"
        elif f.default_factory is not dataclasses.MISSING:
            names[f"_factory_{f.name}"] = f.default_factory
            param = f"{f.name}=_MISSING"
            body.append(f"    if {f.name} is _MISSING: {f.name} = _factory_{f.name}()")
        else:
            param = f.name
        (params if f.init else keyword_only).append(param)
        body.append(f"    self.{f.name} = {f.name}")
    names["_MISSING"] = dataclasses.MISSING
    signature = ", ".join(params + (["*", *keyword_only] if keyword_only else []))
    source = "\n".join([f"def make({signature}):", "    self = _new(_twin)", *body, "    self.__class__ = _cls", "    return self"])
    try:
        exec(compile(source, f"<fast constructor of {cls.__name__}>", "exec"), names)  # noqa: S102 - our own fields
        probe: Any = object.__new__(twin)
        probe.__class__ = cls  # raises TypeError if the layouts differ
    except (TypeError, SyntaxError):  # pragma: no cover - another Python's object layout
        late = tuple(f.name for f in fields if not f.init)

        def slow(*args: Any, **kwargs: Any) -> Any:
            given = {name: kwargs.pop(name) for name in late if name in kwargs}
            made = cls(*args, **kwargs)
            for name, value in given.items():
                object.__setattr__(made, name, value)
            return made

        return slow
    make: Callable[..., Any] = names["make"]
    return make


@functools.cache
def _makers() -> tuple[Callable[..., Any], ...]:
    """The fast constructors of :data:`_BUILT_CLASSES`, in that order, made on first use."""
    return tuple(map(_maker, _BUILT_CLASSES))


_from_iso = Date.fromisoformat
_NO_FINDINGS: Mapping[str, Any] = MappingProxyType({})


@functools.cache
def _case_check() -> Callable[[Any], bool]:
    check = generated_check("case", CASE_LIMITS)
    return check if check is not None else (lambda document: False)  # no fast path: all go the precise way


def _fast_case(data: Any, path: str | Path | None) -> Case | None:
    """The case ``data`` describes, or None when the precise path must judge it."""
    if not _case_check()(data):
        return None
    try:
        return _build(data, path)
    except ValueError:  # a date the pattern lets through but the calendar does not have
        return None


def _day(text: str | None) -> Date | None:
    return None if text is None else _from_iso(text)


def _build(data: Any, path: str | Path | None) -> Case | None:
    """The case from a document the generated check has accepted (what _precise_case builds).
    A field added to a case class must be added here too: tests/test_fast_case.py fails
    until it is (by keyword, so the order of the fields never matters)."""
    (_make_dates, _make_worker, _make_diagnosis, _make_post_surgical, _make_add_on, _make_device, _make_device_trial,
     _make_program, _make_request, _make_prior, _make_concurrent, _make_findings, _make_expected, _make_case) = _makers()
    given = data["dates"]
    injury = _day(given.get("injury"))
    request_day, ur_day = _day(given.get("request")), _day(given.get("ur_decision"))
    if injury is not None and ((request_day is not None and request_day < injury) or (ur_day is not None and ur_day < injury)):
        return None  # the precise path names the date
    dates = _make_dates(injury=injury, request=request_day, ur_decision=ur_day, service=_day(given.get("service")))
    req = data["request"]
    get = req.get
    post, add_ons, device = get("post_surgical"), get("add_ons"), get("device")
    request = _make_request(
        treatment=req["treatment"], body_regions=tuple(get("body_regions") or ()), quantity=get("quantity"), unit=get("unit"),
        frequency_per_week=get("frequency_per_week"), duration_weeks=get("duration_weeks"), hours_per_day=get("hours_per_day"),
        purpose=get("purpose"), ur_authorized_quantity=get("ur_authorized_quantity"),
        post_surgical=None if post is None else _make_post_surgical(
            surgery=post.get("surgery"), procedure=post.get("procedure"), surgery_date=_day(post.get("surgery_date")),
            surgery_certified=post.get("surgery_certified")),
        duplicates_authorized=get("duplicates_authorized"),
        add_ons=tuple([_make_add_on(**item) for item in add_ons]) if add_ons else (),
        device=None if device is None else _make_device(**device),
    )
    priors = data.get("prior_treatments")
    if priors:
        priors = tuple([
            _make_prior(
                treatment=item["treatment"], body_regions=tuple(item.get("body_regions") or ()), count=item.get("count"),
                start=_day(item.get("start")), end=_day(item.get("end")), status=item.get("status"),
                functional_improvement=item.get("functional_improvement"), plateau=item.get("plateau"),
                post_surgical=item.get("post_surgical"), note=item.get("note"), improvement=item.get("improvement"),
                improvement_measures=tuple(item.get("improvement_measures") or ()), count_at_least=item.get("count_at_least"),
                approved_count=item.get("approved_count"))
            for item in priors
        ])
    concurrent = data.get("concurrent_treatments")
    if concurrent:
        concurrent = tuple([
            _make_concurrent(treatment=item["treatment"], status=item.get("status"),
                             body_regions=tuple(item.get("body_regions") or ()), count=item.get("count"))
            for item in concurrent
        ])
    found = data.get("findings") or _NO_FINDINGS
    if "device_trial" in found or "program" in found:
        trial, program = found.get("device_trial"), found.get("program")
        findings = _make_findings(**{**found, "device_trial": None if trial is None else _make_device_trial(**trial),
                                     "program": None if program is None else _make_program(**program)})
    else:
        findings = _make_findings(**found)
    diagnoses, worker, expected = data.get("diagnoses"), data.get("worker"), data.get("expected")
    return _make_case(
        dates=dates, request=request, case_id=data.get("case_id"), description=data.get("description"), source=data.get("source"),
        worker=_make_worker(**worker) if worker else _make_worker(),
        diagnoses=tuple([_make_diagnosis(**d) for d in diagnoses]) if diagnoses else (),
        prior_treatments=priors or (), concurrent_treatments=concurrent or (), findings=findings,
        extra=MappingProxyType(dict(data.get("extra") or {})), notes=tuple(data.get("notes") or ()),
        expected=None if expected is None else _make_expected(
            decision=expected.get("decision"), approved_quantity=expected.get("approved_quantity"),
            failed_criteria=tuple(expected["failed_criteria"]) if "failed_criteria" in expected else None,
            imr_outcome=expected.get("imr_outcome"), known_disagreement=expected.get("known_disagreement"),
            reviewer_criteria=tuple(expected["reviewer_criteria"]) if "reviewer_criteria" in expected else None,
            reviewer_reasons=expected.get("reviewer_reasons"),
            criterion_status=tuple(expected["criterion_status"].items()) if "criterion_status" in expected else None,
        ),
        path=None if path is None else str(path),
        _checked=True,
    )
