"""Operations fixtures: the CLI output of a `bonus` command."""

from __future__ import annotations

from collections.abc import Callable

import pytest


@pytest.fixture
def bonus(runner) -> Callable[..., object]:
    """bonus("reconcile", "--limit", "5") → the click result of `flask bonus ...`."""

    def invoke(*args: str):
        return runner.invoke(args=["bonus", *args], catch_exceptions=False)

    return invoke
