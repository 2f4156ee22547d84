"""pytest plugin (entry point ``pytest11: mtus_kb``): fixtures for testing guideline plugins.

- ``mtus_kb``: the knowledge base as installed, loaded once per session.
- ``mtus_conformance``: ``mtus_conformance("my_plugin", case_files=[...])`` runs
  :func:`kb_core.testing.check_plugin` and fails the test listing every problem.

Importing this module is cheap; hypothesis is imported only when the fixture is used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture(scope="session")
def mtus_kb() -> Any:
    import kb_core

    return kb_core.load()


@pytest.fixture
def mtus_conformance(mtus_kb: Any) -> Callable[..., Any]:
    from kb_core.testing import assert_conformant

    def check(plugin: str, **kwargs: Any) -> Any:
        kwargs.setdefault("kb", mtus_kb)
        return assert_conformant(plugin, **kwargs)

    return check
