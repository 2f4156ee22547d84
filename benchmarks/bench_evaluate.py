"""Cost of one determination with its full trace, and of the steps around it.

Run: python benchmarks/bench_evaluate.py [CASE ...]   (defaults: examples/*.yaml and every case under tests/cases/)
Prints microseconds per call (best of 5 repeats) for: evaluate on a parsed case,
evaluate plus canonical JSON, parsing a case mapping, and loading the knowledge base.
"""

from __future__ import annotations

import statistics
import sys
import time
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def per_call_us(stmt: object, number: int) -> float:
    return min(timeit.repeat(stmt, number=number, repeat=5)) / number * 1e6  # type: ignore[arg-type]


def main(argv: list[str]) -> None:
    started = time.perf_counter()
    import kb_core
    from kb_core._yaml import data_files, read_document

    import_ms = (time.perf_counter() - started) * 1e3
    paths = [Path(a) for a in argv] or data_files([*sorted((ROOT / "examples").glob("*.yaml")), ROOT / "tests" / "cases"])
    load_ms = per_call_us(kb_core.load, 3) / 1e3
    kb = kb_core.load()
    raw = [(p, read_document(p, kb_core.CaseError)) for p in paths]
    cases = [kb_core.parse_case(doc, p) for p, doc in raw]
    evaluate = [per_call_us(lambda c=c: kb.evaluate(c), 2000) for c in cases]
    with_json = [per_call_us(lambda c=c: kb_core.determination_json(kb.evaluate(c)), 500) for c in cases]
    parse = [per_call_us(lambda d=d, p=p: kb_core.parse_case(d, p), 300) for p, d in raw]
    print(f"cases: {len(cases)}  (python {sys.version.split()[0]})")
    print(f"import kb_core:                 {import_ms:8.1f} ms (once per process)")
    print(f"kb_core.load():                 {load_ms:8.1f} ms (once per process)")
    print(f"evaluate (full trace):          median {statistics.median(evaluate):7.1f} us   max {max(evaluate):7.1f} us")
    print(f"evaluate + canonical JSON:      median {statistics.median(with_json):7.1f} us   max {max(with_json):7.1f} us")
    print(f"parse_case (schema validation): median {statistics.median(parse):7.1f} us   max {max(parse):7.1f} us")


if __name__ == "__main__":
    main(sys.argv[1:])
