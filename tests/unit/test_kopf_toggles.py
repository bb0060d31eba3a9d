"""kopf_toggles.CountingToggleSet answers as Kopf's own ToggleSet, and wakes its waiters only when its state flips."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from kopf._cogs.aiokits import aiotoggles

from fluxcd_helm_upgrader import kopf_toggles

KOPF_TOGGLE_SET = kopf_toggles._BASE  # Kopf's class, even after install() replaced the module's name


async def _replay(cls: Any, fn: Callable[[Iterable[bool]], bool], seed: int) -> list[tuple[str, bool]]:
    """A random sequence of Kopf's operations on a set; the answers of is_on, is_off, len and each toggle's state."""
    rng = random.Random(seed)
    toggles = cls(fn)
    made: list[Any] = []
    answers = []
    for _ in range(200):
        op = rng.choice(["make", "make", "turn", "turn", "drop", "drop_many", "turn_dropped"])
        if op == "make" or not made:
            made.append(await toggles.make_toggle(rng.random() < 0.5, name=f"t{len(made)}"))
        elif op == "turn":
            await rng.choice(made).turn_to(rng.random() < 0.5)
        elif op == "drop":
            await toggles.drop_toggle(rng.choice(made))
        elif op == "drop_many":
            await toggles.drop_toggles(rng.sample(made, k=min(3, len(made))))
        else:  # a toggle already dropped from the set may still be turned: it must not count
            dropped = [t for t in made if t not in toggles]
            if dropped:
                await rng.choice(dropped).turn_to(rng.random() < 0.5)
        answers.append((f"{op} on", toggles.is_on()))
        answers.append((f"{op} off", toggles.is_off()))
        answers.append((f"{op} len", len(toggles) > 0 and len(toggles) % 2 == 0))
        answers.extend((f"{op} toggle", t.is_on()) for t in made)
    return answers


@pytest.mark.parametrize("fn", [all, any], ids=["all", "any"])
@pytest.mark.parametrize("seed", range(20))
async def test_counting_set_answers_every_operation_as_kopfs_own(fn: Any, seed: int) -> None:
    assert await _replay(kopf_toggles.CountingToggleSet, fn, seed) == await _replay(KOPF_TOGGLE_SET, fn, seed)


async def test_another_function_gets_kopfs_own_class() -> None:
    toggles = kopf_toggles.CountingToggleSet(lambda states: sum(states) == 1)
    assert type(toggles) is KOPF_TOGGLE_SET
    await toggles.make_toggle(True)
    assert toggles.is_on()


async def test_waiters_wake_when_the_last_object_is_indexed_and_not_before() -> None:
    """Kopf's start-up: a toggle per object while its indexes fill, every object's worker waiting for all."""
    indexed = kopf_toggles.CountingToggleSet(all)
    blocker = await indexed.make_toggle(False, name="orchestration blocker")
    objects = [await indexed.make_toggle(False, name=f"object {i}") for i in range(1000)]
    waiters = [asyncio.create_task(indexed.wait_for(True)) for _ in range(1000)]
    await asyncio.sleep(0)
    for toggle in objects:
        await indexed.drop_toggle(toggle)
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters)
    assert indexed.is_off()
    await indexed.drop_toggle(blocker)
    await asyncio.wait_for(asyncio.gather(*waiters), timeout=5)
    assert indexed.is_on()
    await indexed.wait_for(True)  # already on: returns at once


async def test_one_toggle_can_still_be_awaited_on_its_own() -> None:
    paused = kopf_toggles.CountingToggleSet(any)
    toggle = await paused.make_toggle(False, name="peering")
    waiter = asyncio.create_task(toggle.wait_for(True))
    set_waiter = asyncio.create_task(paused.wait_for(True))
    await asyncio.sleep(0)
    await toggle.turn_to(True)
    await asyncio.wait_for(asyncio.gather(waiter, set_waiter), timeout=5)
    assert toggle.is_on() and paused.is_on()


def test_install_makes_kopf_create_counting_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aiotoggles, "ToggleSet", KOPF_TOGGLE_SET)
    assert kopf_toggles.install()
    assert type(aiotoggles.ToggleSet(all)) is kopf_toggles.CountingToggleSet
    assert type(aiotoggles.ToggleSet(any)) is kopf_toggles.CountingToggleSet
