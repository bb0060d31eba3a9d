"""Kopf's start-up on a big cluster: index readiness counted in O(1), not re-checked by every waiting object.

Before its first handler runs, Kopf waits until every index is filled (`operator_indexed`, a `ToggleSet(all)` in
`kopf._core.reactor.orchestration`): each watched object gets a toggle while its index handlers run, and each
object's worker then waits on the set. Kopf's `ToggleSet` wakes every waiter on every new or dropped toggle, and
each waiter checks every toggle again: O(n) waiters x O(n) toggles x O(n) changes. Measured with the emulator:
8 s at 1,000 objects, 87 s at 3,000, 47 min at 10,000 before the first cycle (README, `benchmarks/cycle_scale.py`).

`CountingToggleSet` keeps the number of toggles that are on, so its state costs O(1), and wakes the set's
waiters only when that state flips: the same answers, O(n) in all. `install()` puts it where Kopf creates its
sets (the `aiotoggles.ToggleSet` name that `orchestration` and `running` look up when the operator starts). Only
`all` and `any` sets are counted (the only ones Kopf makes); another function gets Kopf's own class. The toggles
the set makes still share its condition, so `Toggle.wait_for` on one toggle works as in Kopf.

When Kopf's internals change shape (a `kopf` release without `_cogs.aiokits.aiotoggles.ToggleSet`), `install()`
logs a warning and leaves Kopf as it is: slower start-up, same behaviour. `tests/unit/test_kopf_toggles.py` runs
both classes through the same sequences of operations and compares every answer.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable, Iterable
from typing import Any

logger = logging.getLogger(__name__)

aiotoggles: Any  # Kopf's internals, typed loosely on purpose: their shape is checked at run time by install()
try:
    aiotoggles = importlib.import_module("kopf._cogs.aiokits.aiotoggles")
except ImportError:  # pragma: no cover - a Kopf release that moved its internals: install() says so
    aiotoggles = None

_BASE: Any = getattr(aiotoggles, "ToggleSet", None)
_TOGGLE: Any = getattr(aiotoggles, "Toggle", None)


class _CountedToggle(_TOGGLE or object):  # type: ignore[misc]
    """A toggle of a `CountingToggleSet`: tells its set when it turns."""

    _state: bool  # Kopf's Toggle attributes
    _condition: asyncio.Condition

    def __init__(self, state: bool, *, name: str | None, condition: asyncio.Condition, owner: CountingToggleSet):
        super().__init__(state, name=name, condition=condition)
        self._owner = owner

    async def turn_to(self, state: bool, /) -> None:
        async with self._condition:
            state = bool(state)
            if state != self._state and self in self._owner._toggles:
                self._owner._on += 1 if state else -1
            self._state = state
            self._condition.notify_all()  # waiters of this one toggle (Toggle.wait_for)
        self._owner._settle()


class CountingToggleSet(_BASE or object):  # type: ignore[misc]
    """Kopf's `ToggleSet` for `all` and `any`, with the number of toggles that are on kept as a count."""

    _toggles: set[Any]  # Kopf's ToggleSet attributes
    _condition: asyncio.Condition
    _fn: Callable[[Iterable[bool]], bool]

    def __new__(cls, fn: Callable[[Iterable[bool]], bool]) -> Any:
        if fn is not all and fn is not any:
            return _BASE(fn)  # not counted: Kopf's own class answers
        return super().__new__(cls)

    def __init__(self, fn: Callable[[Iterable[bool]], bool]) -> None:
        super().__init__(fn)
        self._on = 0
        self._state = self.is_on()
        self._flipped = asyncio.Event()

    def is_on(self) -> bool:
        if self._fn is all:
            return self._on == len(self._toggles)
        return self._on > 0

    async def wait_for(self, state: bool, /) -> None:
        wanted = bool(state)
        while self.is_on() != wanted:
            flipped = self._flipped
            await flipped.wait()

    async def make_toggle(self, value: bool = False, /, *, name: str | None = None) -> Any:
        toggle = _CountedToggle(bool(value), name=name, condition=self._condition, owner=self)
        async with self._condition:
            self._toggles.add(toggle)
            self._on += toggle.is_on()
            self._condition.notify_all()
        self._settle()
        return toggle

    async def drop_toggle(self, toggle: Any) -> None:
        await self.drop_toggles([toggle])

    async def drop_toggles(self, toggles: Iterable[Any]) -> None:
        async with self._condition:
            for toggle in toggles:
                if toggle in self._toggles:
                    self._toggles.discard(toggle)
                    self._on -= toggle.is_on()
            self._condition.notify_all()
        self._settle()

    def _settle(self) -> None:
        """Wake the set's waiters when its state flipped (each checks once whether it is the state it awaits)."""
        state = self.is_on()
        if state != self._state:
            self._state = state
            self._flipped.set()
            self._flipped = asyncio.Event()


def install() -> bool:
    """Make Kopf create `CountingToggleSet`s from now on; False (and a warning) when Kopf's internals moved."""
    if aiotoggles is None or _BASE is None or _TOGGLE is None:
        logger.warning("kopf._cogs.aiokits.aiotoggles has changed: Kopf's own index readiness is used (slow "
                       "start-up with many objects)")  # fmt: skip
        return False
    aiotoggles.ToggleSet = CountingToggleSet
    return True
