"""Every first-party parameter declares the shape its evaluator reads, so that a slip such as
``[24]`` for ``24`` is refused by ``mtus validate`` with file:line, not found at evaluation.
(The refusals themselves are fixtures in tests/invalid/guidelines/shape_*.yaml.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
GUIDELINES = sorted((ROOT / "guidelines").glob("*.yaml"))


def _parameters(document: dict) -> list[tuple[str, dict]]:
    found = [(f"shared.{name}", node) for name, node in (document.get("shared_parameters") or {}).items()]
    for tid, treatment in (document.get("treatments") or {}).items():
        found += [(f"{tid}.{name}", node) for name, node in (treatment.get("parameters") or {}).items()]
    return found


@pytest.mark.parametrize("path", GUIDELINES, ids=lambda p: p.stem)
def test_every_first_party_parameter_declares_its_shape(path: Path) -> None:
    parameters = _parameters(yaml.safe_load(path.read_text()))
    missing = [pid for pid, node in parameters if "shape" not in node]
    assert not missing, f"{path.name}: parameters without shape: {missing}"


def test_shapes_cover_every_kind_the_data_uses() -> None:
    shapes = {node["shape"] for path in GUIDELINES for _, node in _parameters(yaml.safe_load(path.read_text()))}
    assert shapes == {"scalar", "list", "table", "rows"}
