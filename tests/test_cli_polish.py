"""Issue 11's command-line and API polish: criteria for people, facts skeletons, several
files, per-treatment graph pictures, and the small API items."""

from __future__ import annotations

import datetime as dt
import json
import pydoc
import re
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import kb_core
from kb_core.cli import main

ROOT = Path(__file__).resolve().parent.parent
SEED = str(ROOT / "examples" / "seed-work-conditioning.yaml")
IMR = sorted(str(p) for p in (ROOT / "tests" / "cases" / "imr").glob("*.yaml"))


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


# ---------------------------------------------------------------- mtus criteria


@pytest.mark.parametrize(("typed", "treatment"), [("physical_therapy", "physical_medicine"), ("occupational_therapy", "physical_medicine"), ("work_hardening", "work_conditioning")])
def test_criteria_accepts_the_kinds_users_write(typed: str, treatment: str) -> None:
    code, out, err = run("criteria", typed, "--format", "json")
    assert code == 0, err
    assert json.loads(out)["treatment"] == treatment


def test_criteria_on_a_year_or_month_means_its_first_day() -> None:
    code, out, _ = run("criteria", "work_conditioning", "--on", "2010")
    assert code == 0 and "criteria in force on 2010-01-01" in out
    code, out, _ = run("criteria", "work_conditioning", "--on", "2017-01")
    assert code == 0 and "criteria in force on 2017-01-01" in out


def test_criteria_text_is_for_people(kb: kb_core.KnowledgeBase) -> None:
    code, out, _ = run("criteria", "physical_therapy", "--on", "2017-01-05")
    assert code == 0
    assert "{'" not in out and "('" not in out, "a parameter printed as a Python repr"
    assert out.count("pagination of") == 1 and "Page numbers follow the pagination of" in out
    gs = kb.guidelines
    shown = [c for c in gs.treatments["physical_medicine"].criteria if f"  {c}  [" in out]
    assert shown
    for cid in shown:
        block = out.split(f"  {cid}  [", 1)[1].split("\n\n", 1)[0]
        if gs.criteria[cid].facts:
            assert "Reads: " + gs.criteria[cid].facts[0] in block
        if gs.criteria[cid].verification.note:
            assert f"Verification {gs.criteria[cid].verification.status}:" in block
    # a table parameter is one entry a line
    assert re.search(r"- visits_by_diagnosis \[[VDKU]\]: visits per diagnosis category\n\s+myalgia_myositis: 10\n", out)


def test_criteria_json_carries_verification_notes() -> None:
    code, out, _ = run("criteria", "work_conditioning", "--on", "2017-01-05", "--format", "json")
    rows = json.loads(out)["criteria"]
    assert code == 0 and all("verification_note" in r for r in rows)
    assert any(r["verification_note"] and "2016" in r["verification_note"] for r in rows)


def test_unknown_treatment_suggests_the_near_match() -> None:
    code, _, err = run("criteria", "physcal_therapy")
    assert code == 2 and "did you mean 'physical_therapy'" in err
    code, _, err = run("criteria", "medication")  # a kind common.yaml declares that no plugin judges
    assert code == 2 and "no installed plugin judges it" in err


# ---------------------------------------------------------------- mtus facts


@pytest.mark.parametrize("typed", ["work_hardening", "physical_therapy", "chiropractic", "acupuncture"])
def test_facts_skeleton_is_a_valid_case_with_every_fact_described(kb: kb_core.KnowledgeBase, typed: str) -> None:
    code, out, err = run("facts", typed, "--on", "2015-03-02")
    assert code == 0, err
    case = kb_core.parse_case(yaml.safe_load(out))
    assert case.request.treatment == typed and case.dates.request == dt.date(2015, 3, 2)
    det = kb.evaluate(case)  # every fact absent: nothing can be certified
    assert det.decision.value in ("non_certified", "no_criteria")
    code, out, _ = run("facts", typed, "--on", "2015-03-02", "--format", "json")
    facts = json.loads(out)["facts"]
    treatment = kb.treatment_for(typed)
    assert treatment is not None
    read = {f for c in kb.guidelines.treatments[treatment].criteria for f in kb.guidelines.criteria[c].facts if "cpmtg-2009" in kb.guidelines.criteria[c].applies_to or "amtg-2009" in kb.guidelines.criteria[c].applies_to}
    assert read <= {f["fact"] for f in facts}
    assert all(f["description"] and f["read_by"] for f in facts), [f["fact"] for f in facts if not f["description"]]


def test_facts_without_a_date_leaves_the_request_date_to_fill_in() -> None:
    code, out, _ = run("facts", "acupuncture")
    assert code == 0 and "request: null  # required" in out


# ---------------------------------------------------------------- mtus evaluate with several files


def test_evaluate_several_files_text_and_json() -> None:
    files = [SEED, *IMR[:2]]
    code, out, _ = run("evaluate", *files)
    assert code == 0 and [line for line in out.splitlines() if line.startswith("==> ")] == [f"==> {f} <==" for f in files]
    code, out, _ = run("evaluate", *files, "--format", "json")
    dets = json.loads(out)
    assert code == 0 and len(dets) == 3
    single = json.loads(run("evaluate", IMR[1], "--format", "json")[1])
    assert dets[2] == single


def test_evaluate_several_files_reports_a_bad_one_and_goes_on(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("dates: {request: 2015-13-01}\nrequest: {treatment: acupuncture}\n")
    code, out, err = run("evaluate", str(bad), SEED)
    assert code == 1 and "bad.yaml" in err and "1 of 2 case file(s)" in err
    assert f"==> {SEED} <==" in out and "DECISION:" in out


# ---------------------------------------------------------------- mtus graph --treatment


def test_graph_for_one_treatment_holds_only_its_criteria(kb: kb_core.KnowledgeBase) -> None:
    code, out, _ = run("graph", "--treatment", "work_hardening", "--format", "json")
    assert code == 0
    nodes = {n["id"] for n in json.loads(out)["nodes"]}
    criteria = {n.partition(":")[2] for n in nodes if n.startswith("criterion:")}
    assert criteria == set(kb.guidelines.treatments["work_conditioning"].criteria)
    code, out, _ = run("graph", "--treatment", "work_conditioning", "--format", "dot")
    assert code == 0 and "rankdir=LR" in out and 'subgraph "cluster_treatment:work_conditioning"' in out
    assert "criterion:acupuncture." not in out and "source:" not in out


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot to measure the picture")
@pytest.mark.parametrize("treatment", ["work_conditioning", "acupuncture", "chiropractic", "physical_medicine"])
def test_one_treatment_picture_is_about_a_page_wide(treatment: str, tmp_path: Path) -> None:
    target = tmp_path / "g.svg"
    code, _, err = run("graph", "--treatment", treatment, "--format", "svg", "-o", str(target))
    assert code == 0, err
    width, height = (float(v) for v in re.search(r'width="([\d.]+)pt" height="([\d.]+)pt"', target.read_text()).groups())  # type: ignore[union-attr]
    assert width <= 900 and height > width, (width, height)


# ---------------------------------------------------------------- small API items


def test_decision_and_status_print_their_values(kb: kb_core.KnowledgeBase) -> None:
    det = kb.evaluate(kb_core.load_case(SEED))
    assert str(det.decision) == "non_certified" and f"{det.decision}" == "non_certified"
    assert str(det.criteria[0].status) == det.criteria[0].status.value


def test_version_and_a_short_help() -> None:
    from importlib.metadata import version

    assert kb_core.__version__ == version("mtus-kb")
    text = pydoc.render_doc(kb_core, renderer=pydoc.plaintext)
    assert len(text.splitlines()) < 400 and "load_case" in text
    for name in ("Case", "Finding", "Status", "CaseError", "hookimpl"):
        assert hasattr(kb_core, name)  # still importable, listed in the docstring
        assert name in (kb_core.__doc__ or "")


def test_graph_module_exports_only_its_queries() -> None:
    import kb_core.export
    import kb_core.graph

    for module in (kb_core.graph, kb_core.export):
        assert not {"nx", "dt", "Iterable"} & set(module.__all__)
        assert all(callable(getattr(module, name)) or name.isupper() for name in module.__all__)


def test_criteria_for_accepts_an_iso_date(kb: kb_core.KnowledgeBase) -> None:
    from kb_core.graph import criteria_for

    by_string = criteria_for(kb.graph, "work_conditioning", on="2015-03-02")
    by_date = criteria_for(kb.graph, "work_conditioning", on=dt.date(2015, 3, 2), versions=kb.guidelines.versions)
    assert by_string == by_date and by_string
    assert criteria_for(kb.graph, "work_conditioning", on="2018-03-02") == []
    with pytest.raises(kb_core.GraphError, match="not a date"):
        criteria_for(kb.graph, "work_conditioning", on="March 2015")


def test_mistyped_parameter_suggests_the_near_match(tmp_path: Path) -> None:
    text = (ROOT / "examples" / "mtus-kb-biofeedback" / "mtus_kb_biofeedback" / "biofeedback.yaml").read_text()
    assert "parameters: [trial_visits, max_visits]" in text
    bad = tmp_path / "biofeedback.yaml"
    bad.write_text(text.replace("parameters: [trial_visits, max_visits]", "parameters: [trial_visit, max_visits]"))
    code, _, err = run("validate", str(bad))
    assert code == 1 and "did you mean 'biofeedback.trial_visits'" in err


def test_errors_in_a_mapping_name_its_case_id(kb: kb_core.KnowledgeBase) -> None:
    with pytest.raises(kb_core.CaseError, match=r"<case abc-1>"):
        kb.evaluate({"case_id": "abc-1", "dates": {"request": "2015-13-02"}, "request": {"treatment": "acupuncture"}})


def test_knowledge_base_version_is_semantic_and_listed() -> None:
    code, out, _ = run("plugins", "--no-conformance", "--format", "json")
    identity = json.loads(out)["knowledge_base"]
    assert code == 0 and re.fullmatch(r"\d+\.\d+\.\d+", identity["version"]) and len(identity["digest"]) == 64
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog and "kb_version" in changelog
