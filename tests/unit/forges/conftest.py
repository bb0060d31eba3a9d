"""Fixtures for the forge tests: a running GitHub stand-in, a GitHub App key pair, a sleep recorder."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fluxcd_helm_upgrader.forges import app_tokens, rate_limits, retrying
from fluxcd_helm_upgrader.testkit import github as standin
from tests.unit.forges.support import REPO, TOKEN, Sleeps


@pytest.fixture(autouse=True)
def _rate_limit_clock(sleeps: Sleeps, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's rate-limit gates see the time the recorded sleeps would have taken; a limit one test's
    stand-in announced never closes the gate of a later test on a reused port."""
    monkeypatch.setattr(rate_limits.SHARED, "now", lambda: time.time() + sum(sleeps.delays))
    yield
    rate_limits.SHARED.clear()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def policy(sleeps: Sleeps) -> retrying.RetryPolicy:
    return retrying.RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=30.0, sleep=sleeps)


@pytest.fixture(scope="session")
def app_keys() -> tuple[str, str]:
    """(private PEM, public PEM) of a throwaway GitHub App key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@pytest.fixture
async def gh(app_keys: tuple[str, str]) -> AsyncIterator[standin.GitHubStandIn]:
    app_tokens.clear_cache()
    app = standin.App(app_id=4242, installation_id=77, public_key_pem=app_keys[1])
    server = standin.GitHubStandIn(token=TOKEN, repositories=(REPO,), app=app)
    async with server:
        yield server
