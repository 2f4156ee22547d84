"""The mtus command: output, exit codes (0 ok, 1 invalid input, 2 usage)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from kb_core.cli import main

ROOT = Path(__file__).resolve().parent.parent
SEED = str(ROOT / "examples" / "seed-work-conditioning.yaml")
INVALID = ROOT / "tests" / "invalid"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_evaluate_text_reads_like_a_worksheet() -> None:
    code, out, _ = run("evaluate", SEED)
    assert code == 0
    assert out.startswith("DECISION: NON-CERTIFIED")
    assert "NOT DOCUMENTED       work_conditioning.prior_pt_plateau" in out
    assert "pp.125-126" in out and "To pass:" in out and "Receipt:" in out


def test_evaluate_json_is_byte_identical_across_runs() -> None:
    first = subprocess.run([sys.executable, "-m", "kb_core", "evaluate", SEED, "--format", "json"], capture_output=True, check=True).stdout
    second = subprocess.run([sys.executable, "-m", "kb_core", "evaluate", SEED, "--format", "json"], capture_output=True, check=True).stdout
    assert first == second
    data = json.loads(first)
    assert data["decision"] == "non_certified"
    assert len(data["receipt"]["knowledge_base_digest"]) == 64


def test_console_script_is_installed() -> None:
    exe = shutil.which("mtus") or str(Path(sys.executable).parent / "mtus")
    done = subprocess.run([exe, "evaluate", SEED, "--format", "json"], capture_output=True, text=True)
    assert done.returncode == 0 and '"non_certified"' in done.stdout


def test_validate_unknown_key_exits_1_naming_file_and_line() -> None:
    bad = INVALID / "guidelines" / "unknown_key.yaml"
    code, _, err = run("validate", str(bad))
    assert code == 1
    assert f"{bad}:13" in err and "unknown key 'max_visit'" in err


def test_validate_good_files_exits_0() -> None:
    code, out, _ = run("validate", SEED, str(ROOT / "guidelines"), str(ROOT / "tests" / "cases" / "work_conditioning"))
    assert code == 0
    assert "(guideline)" in out and "(case)" in out


def test_bad_case_exits_1() -> None:
    code, _, err = run("evaluate", str(INVALID / "cases" / "unknown_key.yaml"))
    assert code == 1 and "unknown key 'quantiy'" in err and ":7:" in err


def test_usage_errors_exit_2() -> None:
    assert run("evaluate")[0] == 2
    assert run("evaluate", SEED, "--format", "xml")[0] == 2
    assert run("criteria", "no_such_treatment")[0] == 2
    assert run("no-such-command")[0] == 2


def test_criteria_on_a_date() -> None:
    code, out, _ = run("criteria", "work_conditioning", "--on", "2014-05-21")
    assert code == 0 and "work_conditioning.time_since_injury" in out and "max_years_since_injury = 2 years" in out
    code, out, _ = run("criteria", "work_conditioning", "--on", "2018-03-01", "--format", "json")
    assert code == 0 and json.loads(out)["criteria"] == []


def test_graph_formats(tmp_path: Path) -> None:
    code, out, _ = run("graph", "--format", "json")
    assert code == 0 and json.loads(out)["directed"] is True
    code, out, _ = run("graph", "--format", "dot")
    assert code == 0 and "digraph" in out
    target = tmp_path / "g.graphml"
    assert run("graph", "--format", "graphml", "-o", str(target))[0] == 0 and target.read_bytes().startswith(b"<?xml")
    code, _, err = run("graph", "--format", "svg", "-o", str(tmp_path / "g.svg"))
    assert code == 0 if shutil.which("dot") else (code == 1 and "Graphviz" in err)


def test_agree_reports_figures() -> None:
    code, out, _ = run("agree", SEED, "--format", "json")
    assert code == 0
    summary = json.loads(out)["summary"]
    assert summary["imr_cases"] == 1 and summary["imr_agree"] == 1


def test_agree_counts_an_unevaluable_file_as_a_disagreement(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text('dates: {request: "2015-01-01"}\nrequest: {treatment: nope}\n')
    code, out, _ = run("agree", SEED, str(bad), "--format", "json", "--allow-errors")
    summary = json.loads(out)["summary"]
    assert code == 0 and summary["cases"] == 2 and summary["agree"] == 1 and summary["could_not_be_evaluated"] == 1
