"""Shared fixtures and Hypothesis profiles (HYPOTHESIS_PROFILE=ci for more examples)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, settings

import kb_core

ROOT = Path(__file__).resolve().parent.parent

settings.register_profile("default", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def sample_case_files() -> list[Path]:
    """Every sample case file: the examples beside the README and all of tests/cases. (The
    biofeedback example plugin's cases need that plugin installed: its own tests run them.)"""
    from kb_core._yaml import data_files

    return data_files([*sorted((ROOT / "examples").glob("*.yaml")), ROOT / "tests" / "cases"])


def module_from_file(path: Path) -> ModuleType:
    """A repository script (benchmarks/, tools/) imported by its path: they are not packages."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def third_party_plugins() -> list[str]:
    """Installed plugins not shipped with mtus-kb: the core's tests judge the core alone."""
    from importlib.metadata import entry_points

    return [ep.name for ep in entry_points(group="mtus") if not ep.dist or ep.dist.name != "mtus-kb"]


def load_first_party(**kwargs: object) -> kb_core.KnowledgeBase:
    disable = [*third_party_plugins(), *kwargs.pop("disable", [])]  # type: ignore[misc]
    return kb_core.load(disable=disable, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def kb() -> kb_core.KnowledgeBase:
    return load_first_party()


@pytest.fixture(scope="session")
def seed_path() -> Path:
    return ROOT / "examples" / "seed-work-conditioning.yaml"
