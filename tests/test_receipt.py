"""The receipt names the knowledge base by semantic version and by exact digest."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

import kb_core
from conftest import load_first_party

ROOT = Path(__file__).resolve().parent.parent


def test_receipt_carries_the_knowledge_base_version_declared_in_common_yaml() -> None:
    declared = yaml.safe_load((ROOT / "guidelines" / "common.yaml").read_text())["kb_version"]
    kb = load_first_party()
    det = kb.evaluate(ROOT / "examples" / "seed-work-conditioning.yaml")
    assert det.receipt.knowledge_base_version == declared
    receipt = json.loads(kb_core.determination_json(det))["receipt"]
    assert receipt["knowledge_base_version"] == declared and receipt["knowledge_base_digest"] == kb.digest
    assert f"knowledge base {declared} sha256 {kb.digest}" in kb_core.determination_text(det)
