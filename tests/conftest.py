"""Shared fixtures and Hypothesis profiles (HYPOTHESIS_PROFILE=ci for more examples)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import kb_core

ROOT = Path(__file__).resolve().parent.parent

settings.register_profile("default", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def kb() -> kb_core.KnowledgeBase:
    return kb_core.load()


@pytest.fixture(scope="session")
def seed_path() -> Path:
    return ROOT / "examples" / "seed-work-conditioning.yaml"
