#!/usr/bin/env python3
"""One-line mutation testing for mtus-kb: evaluation core, the chiropractic and PT/OT
plugins and the guideline numbers.

Each mutant changes one line (a comparison, an arithmetic operator, a status, a boolean,
a rounding, a number or date in the guideline YAML) in a scratch copy of the source tree;
the test suite then runs against that copy, stopping at the first failure. A mutant is
*killed* when some test fails, *survives* when all pass. See docs/mutation.md.

    python tools/mutate.py                      # all mutant kinds, report to stdout
    python tools/mutate.py --per-kind 12        # the sample docs/mutation.md reports
    python tools/mutate.py --limit 40 --seed 1  # a random sample
    python tools/mutate.py --tree /path/to/other/checkout --json out.json

Needs only the project's test dependencies; the scratch copy lives in a temporary
directory, so the working tree is never modified.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON_FILES = ["kb_core/_kb.py", "kb_core/_defaults.py", "kb_core/_case.py", "plugins/_caps.py", "plugins/chiropractic.py", "plugins/physical_medicine.py"]
YAML_FILES = ["guidelines/chiropractic.yaml", "guidelines/physical_medicine.yaml", "guidelines/common.yaml"]
# Fast, decision-checking tests first (-x stops at the first failure); the slow packaging,
# scaffold and conformance-kit tests add little here and are left out.
TESTS = ["tests/test_cases.py", "tests/test_kb_corrections.py", "tests/test_version_boundaries.py", "tests/test_acoem_topic_dates.py", "tests/test_reason_words.py", "tests/test_authorized_visits.py", "tests/test_errors.py", "tests/test_plugin_contract_edges.py", "tests/test_speed_paths.py", "tests/test_python_built_cases.py", "tests/test_coverage.py", "tests/test_graph.py", "tests/test_cli.py", "tests/test_properties.py"]
QUICK_TESTS = ["tests/test_cases.py", "tests/test_kb_corrections.py", "tests/test_version_boundaries.py", "tests/test_acoem_topic_dates.py", "tests/test_reason_words.py", "tests/test_errors.py", "tests/test_graph.py"]

# (pattern, replacement, kind): applied to one occurrence on one line.
OPERATORS: list[tuple[str, str, str]] = [
    (r" <= ", " < ", "boundary"), (r" < ", " <= ", "boundary"), (r" >= ", " > ", "boundary"), (r" > ", " >= ", "boundary"),
    (r" \+ ", " - ", "arithmetic"), (r" - ", " + ", "arithmetic"), (r"\bmax\(", "min(", "arithmetic"), (r"\bmin\(", "max(", "arithmetic"),
    (r"math\.ceil", "math.floor", "rounding"), (r"math\.floor", "math.ceil", "rounding"),
    (r"or 0\b", "or 1", "authorized arithmetic"),
    (r"Finding\.not_met\(", "Finding.not_documented(", "status swap"), (r"Finding\.not_documented\(", "Finding.not_met(", "status swap"),
    (r"Finding\.met\(", "Finding.not_met(", "status swap"), (r"Finding\.not_applicable\(", "Finding.met(", "status swap"),
    (r"\bTrue\b", "False", "boolean"), (r"\bFalse\b", "True", "boolean"),
    (r" and ", " or ", "logic"), (r" or ", " and ", "logic"), (r"\bnot ", "", "logic"),
    (r" == ", " != ", "comparison"), (r" != ", " == ", "comparison"), (r" in ", " not in ", "comparison"),
]
NUMBER = re.compile(r"(?<![\w.\-\"'])(\d+)(?![\w.\-])")
DATE = re.compile(r"\"(\d{4}-\d{2}-\d{2})\"")


@dataclass
class Mutant:
    file: str
    line: int
    kind: str
    before: str
    after: str
    outcome: str = ""
    killed_by: str = ""
    seconds: float = 0.0


def _python_mutants(tree: Path, rel: str) -> list[Mutant]:
    out = []
    in_docstring = False
    for number, line in enumerate((tree / rel).read_text().splitlines(), 1):
        code = line.split("#", 1)[0]
        stripped = code.strip()
        if stripped.count('"""') % 2:  # a docstring opens or closes here: its text is no code
            in_docstring = not in_docstring
            continue
        if in_docstring:
            continue
        if not stripped or stripped.startswith(("def ", "class ", "import ", "from ", "@", '"""', "return [", "\"", "'")) or "f\"" in code[: code.find("(") + 1]:
            continue
        for pattern, replacement, kind in OPERATORS:
            for match in re.finditer(pattern, code):
                if code.count('"', 0, match.start()) % 2 or code.count("'", 0, match.start()) % 2:
                    continue  # inside a string literal (reason text)
                mutated = line[: match.start()] + re.sub(pattern, replacement, line[match.start():], count=1)
                if mutated != line:
                    out.append(Mutant(rel, number, kind, line.strip(), mutated.strip()))
    return out


def _yaml_mutants(tree: Path, rel: str) -> list[Mutant]:
    """Numbers in parameter values (each one up and one down), version dates (one day
    later), and criteria dropped from one guideline version (``applies_to``)."""
    import datetime as dt

    out = []
    base: int | None = None  # indentation of the value being read, None outside values
    for number, line in enumerate((tree / rel).read_text().splitlines(), 1):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if base is not None and stripped and indent <= base:
            base = None
        key = re.match(r"^(\s*)(value|by_version|effective_from|effective_until):", line)
        if key:
            base = len(key.group(1))
        applies = re.match(r"^(\s*applies_to: \[)(.*)\]\s*$", line)
        if applies and "," in applies.group(2):
            versions = [v.strip() for v in applies.group(2).split(",")]
            for dropped in versions:
                kept = ", ".join(v for v in versions if v != dropped)
                out.append(Mutant(rel, number, "dropped criterion", stripped, f"applies_to: [{kept}]"))
            continue
        if base is None:
            continue
        for match in DATE.finditer(line):
            shifted = (dt.date.fromisoformat(match.group(1)) + dt.timedelta(days=1)).isoformat()
            out.append(Mutant(rel, number, "date boundary", stripped, (line[: match.start(1)] + shifted + line[match.end(1):]).strip()))
        if DATE.search(line):
            continue
        for match in NUMBER.finditer(line):
            value = int(match.group(1))
            for new in sorted({value + 1, value - 1} - {-1}):
                mutated = line[: match.start(1)] + str(new) + line[match.end(1):]
                out.append(Mutant(rel, number, "threshold/row", stripped, mutated.strip()))
    return out


def _scratch(tree: Path) -> Path:
    work = Path(tempfile.mkdtemp(prefix="mtus-mutant-"))
    for name in ("kb_core", "plugins", "guidelines", "tests", "examples", "README.md", "docs", "pyproject.toml", "benchmarks"):
        src = tree / name
        if src.is_dir():
            shutil.copytree(src, work / name, ignore=shutil.ignore_patterns("__pycache__", ".hypothesis"))
        elif src.exists():
            shutil.copy2(src, work / name)
    (work / "kb_plugins").symlink_to(work / "plugins")
    (work / "kb_guidelines").symlink_to(work / "guidelines")
    return work


def _run(work: Path, tests: list[str], timeout: float) -> tuple[bool, str, float]:
    env = {**os.environ, "PYTHONPATH": f"{work}{os.pathsep}{work / 'tests'}", "PYTHONDONTWRITEBYTECODE": "1"}
    start = time.monotonic()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", *[t for t in tests if (work / t).exists()]],
            cwd=work, env=env, capture_output=True, text=True, timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return True, "timeout", time.monotonic() - start
    failed = re.findall(r"^FAILED (\S+)", proc.stdout, re.M) or re.findall(r"^ERROR (\S+)", proc.stdout, re.M)
    return proc.returncode != 0, (failed[0] if failed else proc.stdout.strip().splitlines()[-1:] and proc.stdout.strip().splitlines()[-1]), time.monotonic() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="source tree to mutate (default: this checkout)")
    parser.add_argument("--limit", type=int, default=0, help="run a random sample of this many mutants (0: all)")
    parser.add_argument("--per-kind", type=int, default=0, help="sample at most this many mutants of each kind")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--only", choices=["python", "yaml"], help="only one family of mutants")
    parser.add_argument("--files", nargs="*", help="only these files (relative paths)")
    parser.add_argument("--tests", nargs="*", default=TESTS)
    parser.add_argument("--quick", action="store_true", help="run only the sample-case, correction, error and graph tests (no property tests)")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--json", type=Path, help="write every mutant and its outcome here")
    parser.add_argument("--list", action="store_true", help="list the mutants without running them")
    parser.add_argument("--replay", type=Path, help="rerun the survivors of an earlier --json report (matched by line text)")
    args = parser.parse_args(argv)
    tree = args.tree.resolve()
    if args.quick:
        args.tests = QUICK_TESTS
    mutants: list[Mutant] = []
    if args.only != "yaml":
        for rel in PYTHON_FILES:
            if (tree / rel).exists() and (not args.files or rel in args.files):
                mutants += _python_mutants(tree, rel)
    if args.only != "python":
        for rel in YAML_FILES:
            if (tree / rel).exists() and (not args.files or rel in args.files):
                mutants += _yaml_mutants(tree, rel)
    if args.replay:
        survivors = [Mutant(**{**m, "outcome": "", "killed_by": "", "seconds": 0.0}) for m in json.loads(args.replay.read_text()) if m["outcome"] == "survived"]
        mutants = []
        for m in survivors:
            lines = [line.strip() for line in (tree / m.file).read_text().splitlines()]
            matches = [i + 1 for i, text in enumerate(lines) if text == m.before]
            if matches:
                m.line = min(matches, key=lambda n: abs(n - m.line))
                mutants.append(m)
            else:
                print(f"gone: {m.file}:{m.line} {m.before}")
    elif args.per_kind:
        rng = random.Random(args.seed)
        by_kind: dict[str, list[Mutant]] = {}
        for m in mutants:
            by_kind.setdefault(m.kind, []).append(m)
        mutants = [m for kind in sorted(by_kind) for m in rng.sample(by_kind[kind], min(args.per_kind, len(by_kind[kind])))]
    if args.limit and args.limit < len(mutants):
        mutants = random.Random(args.seed).sample(mutants, args.limit)
    random.Random(args.seed).shuffle(mutants)  # any prefix of a run is itself a fair sample
    if args.list:
        for m in mutants:
            print(f"{m.file}:{m.line} [{m.kind}] {m.before}  ->  {m.after}")
        print(f"{len(mutants)} mutants")
        return 0
    work = _scratch(tree)
    try:
        ok, why, seconds = _run(work, args.tests, args.timeout)
        if ok:
            print(f"the unmutated suite fails ({why}); fix it first", file=sys.stderr)
            return 2
        for index, m in enumerate(mutants, 1):
            path = work / m.file
            original = path.read_text()
            lines = original.splitlines(keepends=True)
            line = lines[m.line - 1]
            lines[m.line - 1] = line[: len(line) - len(line.lstrip())] + m.after + ("\n" if line.endswith("\n") else "")
            path.write_text("".join(lines))
            try:
                killed, why, m.seconds = _run(work, args.tests, args.timeout)
            finally:
                path.write_text(original)
            m.outcome, m.killed_by = ("killed", why) if killed else ("survived", "")
            print(f"[{index}/{len(mutants)}] {m.outcome:8} {m.file}:{m.line} [{m.kind}] {m.before} -> {m.after}" + (f"  ({why})" if killed else ""), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    killed = sum(m.outcome == "killed" for m in mutants)
    print(f"\nmutation score: {killed}/{len(mutants)} killed ({100 * killed / max(len(mutants), 1):.0f}%)")
    by_kind: dict[str, list[int]] = {}
    for m in mutants:
        by_kind.setdefault(m.kind, [0, 0])[m.outcome == "killed"] += 1
    for kind, (survived, k) in sorted(by_kind.items()):
        print(f"  {kind:22} {k}/{k + survived}")
    if args.json:
        args.json.write_text(json.dumps([asdict(m) for m in mutants], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
