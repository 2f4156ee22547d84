"""Fingerprints of every sample case's determination, to catch any change of output.

Run:   python tools/golden.py           check: list the case files whose output changed
       python tools/golden.py --update  rewrite tests/golden/outputs.txt (after checking
                                        that every change it lists is intended)

Each line of ``tests/golden/outputs.txt`` is a case file (relative to the repository) and
the SHA-256 (first 16 hex digits) of its canonical JSON determination and of its text
determination, under the first-party plugins. The receipt's package and plugin versions and
the knowledge-base digest are blanked first: a release or any edit of the guideline YAML
changes them in every determination, and ``tests/test_receipt.py`` checks them; everything
else (decision, quantities, every criterion's status, reason, citation, parameters and
facts, the summary, the text layout) must stay byte-identical unless a change means it to.
A case file that is refused gives the fingerprint of its error message instead.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import kb_core

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "outputs.txt"
BLANK = "*"


def case_files() -> list[Path]:
    from conftest import sample_case_files  # tests/ is on the path: pytest's, or main()'s

    return sample_case_files()


def _short(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def fingerprint(kb: kb_core.KnowledgeBase, path: Path) -> str:
    """``json:<hash> text:<hash>`` of the determination of ``path``, or ``error:<hash>``."""
    import kb_core

    try:
        det = kb.evaluate(kb_core.load_case(path))
    except kb_core.KBError as exc:
        return f"error:{_short(str(exc).replace(str(ROOT), '<root>'))}"
    return fingerprint_of(det)


def fingerprint_of(det: kb_core.Determination) -> str:
    """``json:<hash> text:<hash>`` of ``det`` with the release-dependent receipt fields blanked."""
    import kb_core

    receipt = det.receipt
    blanked = dataclasses.replace(
        receipt, package_version=BLANK, knowledge_base_digest=BLANK, plugins={name: BLANK for name in receipt.plugins},
    )
    det = dataclasses.replace(det, receipt=blanked)
    return f"json:{_short(kb_core.determination_json(det))} text:{_short(kb_core.determination_text(det))}"


def current(kb: kb_core.KnowledgeBase, paths: Iterable[Path]) -> dict[str, str]:
    return {path.relative_to(ROOT).as_posix(): fingerprint(kb, path) for path in paths}


def recorded(golden: Path = GOLDEN) -> dict[str, str]:
    """The fingerprints in ``golden``: one ``path  json:... text:...`` per line."""
    lines = golden.read_text(encoding="utf-8").splitlines()
    return {path: prints for path, prints in (line.split("  ", 1) for line in lines if line and not line.startswith("#"))}


def differences(now: dict[str, str], before: dict[str, str]) -> list[str]:
    """One line per case file whose fingerprint changed, appeared or disappeared."""
    out = []
    for path in sorted(now.keys() | before.keys()):
        if path not in before:
            out.append(f"new case file (not recorded): {path}")
        elif path not in now:
            out.append(f"recorded case file is gone: {path}")
        elif now[path] != before[path]:
            changed = [kind for kind, a, b in zip(("json", "text"), now[path].split(), before[path].split()) if a != b]
            out.append(f"output changed ({' and '.join(changed) or 'error'}): {path}")
    return out


def write(now: dict[str, str], golden: Path = GOLDEN) -> None:
    header = "# Output fingerprints of every sample case: tools/golden.py writes and explains this file.\n"
    golden.write_text(header + "".join(f"{path}  {prints}\n" for path, prints in sorted(now.items())), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update", action="store_true", help="rewrite the recorded fingerprints")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import load_first_party

    now = current(load_first_party(), case_files())
    if args.update:
        write(now)
        print(f"recorded {len(now)} case files in {GOLDEN.relative_to(ROOT)}")
        return 0
    changed = differences(now, recorded())
    print("\n".join(changed) or f"all {len(now)} case files give the recorded output")
    return 1 if changed else 0


if __name__ == "__main__":
    raise SystemExit(main())
