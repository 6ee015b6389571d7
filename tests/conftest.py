"""Fixtures shared by the test modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    """A fresh gpiozero MockFactory with PWM-capable pins (what the twin needs), reset after."""
    f = MockFactory(pin_class=MockPWMPin)
    yield f
    f.reset()
