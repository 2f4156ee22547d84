"""Every sample case's determination is the one recorded in tests/golden/outputs.txt.

The speed work (and any other change) must leave every output byte-identical, apart from
the release-dependent receipt fields: ``tools/golden.py`` explains the fingerprints and
rewrites them (``--update``) when a change of output is intended.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from conftest import module_from_file

import kb_core

ROOT = Path(__file__).resolve().parent.parent
golden = module_from_file(ROOT / "tools" / "golden.py")


def test_every_sample_case_gives_its_recorded_output(kb: kb_core.KnowledgeBase) -> None:
    now = golden.current(kb, golden.case_files())
    changed = golden.differences(now, golden.recorded())
    assert not changed, (
        "determinations differ from tests/golden/outputs.txt:\n  " + "\n  ".join(changed)
        + "\nIf every change listed is intended, run: python tools/golden.py --update"
    )
    assert len(now) > 300  # the sample cases were all found


def test_the_fingerprint_sees_any_change_of_output_but_not_the_release(kb: kb_core.KnowledgeBase, seed_path: Path) -> None:
    det = kb.evaluate(seed_path)
    before = golden.fingerprint_of(det)
    first = det.criteria[0]
    reworded = dataclasses.replace(det, criteria=(first._replace(reason=first.reason + "."), *det.criteria[1:]))
    json_print, text_print = golden.fingerprint_of(reworded).split()
    assert json_print != before.split()[0] and text_print != before.split()[1]
    assert golden.fingerprint_of(dataclasses.replace(det, approved_quantity=1)) != before
    release = dataclasses.replace(det.receipt, package_version="9.9", knowledge_base_digest="0" * 64, plugins=dict.fromkeys(det.receipt.plugins, "9.9"))
    assert golden.fingerprint_of(dataclasses.replace(det, receipt=release)) == before


def test_differences_name_changed_new_and_missing_case_files() -> None:
    before = {"a.yaml": "json:1 text:1", "b.yaml": "json:1 text:1", "c.yaml": "json:1 text:1"}
    now = {"a.yaml": "json:1 text:1", "b.yaml": "json:1 text:2", "d.yaml": "json:1 text:1"}
    assert golden.differences(now, before) == [
        "output changed (text): b.yaml",
        "recorded case file is gone: c.yaml",
        "new case file (not recorded): d.yaml",
    ]


def test_the_recorded_file_round_trips(tmp_path: Path) -> None:
    prints = {"tests/cases/x.yaml": "json:0123456789abcdef text:fedcba9876543210", "examples/y.yaml": "error:00ff00ff00ff00ff"}
    golden.write(prints, tmp_path / "outputs.txt")
    assert golden.recorded(tmp_path / "outputs.txt") == prints
