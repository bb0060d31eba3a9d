"""Structural schemas of CRDs: defaults, pruning and validation (422 Invalid with field messages)."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.unit.testkit.emulator.support import WIDGETS, widget

pytest.importorskip("jsonschema")


async def _create(http: aiohttp.ClientSession, body: dict[str, Any]) -> tuple[int, Any]:
    async with http.post(WIDGETS, json=body) as response:
        return response.status, await response.json()


async def test_defaults_are_applied_on_create_and_update(http: aiohttp.ClientSession) -> None:
    status, created = await _create(http, widget("w", mode="fast"))
    assert status == 201 and created["spec"] == {"mode": "fast", "size": 1}
    async with http.put(f"{WIDGETS}/w", json={**created, "spec": {"mode": "slow"}}) as response:
        assert (await response.json())["spec"] == {"mode": "slow", "size": 1}


async def test_unknown_fields_are_pruned_unless_preserved(http: aiohttp.ClientSession) -> None:
    _, created = await _create(http, {**widget("w", bogus=1, extra={"any": {"thing": [1]}}), "top": "level"})
    assert created["spec"] == {"size": 1, "extra": {"any": {"thing": [1]}}}
    assert "top" not in created


@pytest.mark.parametrize(
    ("spec", "field", "fragment"),
    [
        ({"size": "big"}, "spec.size", "is not of type 'integer'"),
        ({"size": -1}, "spec.size", "less than the minimum"),
        ({"mode": "medium"}, "spec.mode", "is not one of"),
        ({"port": [80]}, "spec.port", "is not valid"),
    ],
)
async def test_invalid_objects_get_422_with_field_messages(
    http: aiohttp.ClientSession, spec: dict[str, Any], field: str, fragment: str
) -> None:
    status, error = await _create(http, widget("w", **spec))
    assert (status, error["reason"]) == (422, "Invalid")
    assert error["message"].startswith('Widget.example.com "w" is invalid: ')
    assert error["details"]["causes"][0]["field"] == field
    assert fragment in error["message"]


@pytest.mark.parametrize("spec", [{"port": 8080}, {"port": "http"}, {"note": None}, {"note": "text"}])
async def test_int_or_string_and_nullable_accept_their_types(
    http: aiohttp.ClientSession, spec: dict[str, Any]
) -> None:
    status, _ = await _create(http, widget("w", **spec))
    assert status == 201
