"""The webhook receiver as a sender sees it: signed pushes trigger, everything else is refused or ignored."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import urllib.parse
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import test_utils

from fluxcd_helm_upgrader import webhooks

SECRET = b"s3cr3t-webhook-canary-5521"


def signature(body: bytes, secret: bytes = SECRET) -> str:
    # Computed here, independently of webhooks.sign(), the way GitHub documents it.
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def push_payload(ref: str = "refs/heads/main", **extra: Any) -> bytes:
    return json.dumps(
        {
            "ref": ref,
            "repository": {
                "full_name": "acme/fleet",
                "clone_url": "https://github.com/acme/fleet.git",
                "ssh_url": "git@github.com:acme/fleet.git",
                "html_url": "https://github.com/acme/fleet",
                "git_url": "git://github.com/acme/fleet.git",
            },
            **extra,
        }
    ).encode()


class Recorder:
    """The lead's callbacks, recorded; the secret is read through a provider so tests can rotate it."""

    def __init__(self) -> None:
        self.secret = SECRET
        self.pushes: list[webhooks.PushEvent] = []
        self.configs: list[tuple[str, str]] = []
        self.push_result = 2
        self.config_result = 1
        self.secret_error: Exception | None = None
        self.secret_reads = 0  # each read is an API call in the operator

    async def secret_provider(self) -> bytes:
        self.secret_reads += 1
        if self.secret_error is not None:
            raise self.secret_error
        return self.secret

    def trigger(self, push: webhooks.PushEvent) -> int:
        self.pushes.append(push)
        return self.push_result

    async def trigger_config(self, namespace: str, name: str) -> int:
        self.configs.append((namespace, name))
        return self.config_result


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def client(recorder: Recorder) -> AsyncIterator[test_utils.TestClient[Any, Any]]:
    receiver = webhooks.Receiver(
        secret_provider=recorder.secret_provider, trigger=recorder.trigger, trigger_config=recorder.trigger_config
    )
    server = test_utils.TestServer(receiver.app(), host="127.0.0.1", port=0)
    async with test_utils.TestClient(server) as test_client:
        yield test_client


async def post_github(
    client: test_utils.TestClient[Any, Any],
    body: bytes,
    event: str = "push",
    sig: str | None = "valid",
    delivery: str | None = None,
) -> aiohttp.ClientResponse:
    # GitHub gives every delivery its own GUID; a redelivery repeats it.
    headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
               "Content-Type": "application/json"}  # fmt: skip
    if sig is not None:
        headers["X-Hub-Signature-256"] = signature(body) if sig == "valid" else sig
    return await client.post("/hook/github", data=body, headers=headers)


async def test_signed_push_triggers_and_answers_the_count(client: Any, recorder: Recorder) -> None:
    response = await post_github(client, push_payload())
    assert response.status == 202
    assert await response.json() == {"triggered": 2}
    [push] = recorder.pushes
    assert push.full_name == "acme/fleet"
    assert push.ref == "refs/heads/main" and push.branch == "main"
    assert "git@github.com:acme/fleet.git" in push.urls
    assert webhooks.matches_repository(push.urls, "ssh://git@github.com/acme/fleet.git")


async def test_form_encoded_push_is_read_like_json(client: Any, recorder: Recorder) -> None:
    # GitHub's default content type for hooks made in the web UI; the signature covers the form body.
    body = urllib.parse.urlencode({"payload": push_payload().decode()}).encode()
    headers = {
        "X-GitHub-Event": "push",
        "X-Hub-Signature-256": signature(body),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    response = await client.post("/hook/github", data=body, headers=headers)
    assert response.status == 202
    assert [p.branch for p in recorder.pushes] == ["main"]


@pytest.mark.parametrize(
    "sig",
    [
        None,  # no header at all
        "",
        signature(push_payload(), secret=b"another-secret"),
        signature(b"a different body"),
        "sha1=" + hmac.new(SECRET, push_payload(), hashlib.sha1).hexdigest(),  # GitHub's legacy header form
        signature(push_payload())[:-2],  # truncated
        "sha256=ünïcode",
    ],
    ids=["missing", "empty", "wrong-secret", "other-body", "sha1", "truncated", "non-ascii"],
)
async def test_unauthenticated_push_is_refused_and_triggers_nothing(
    client: Any, recorder: Recorder, sig: str | None
) -> None:
    response = await post_github(client, push_payload(), sig=sig)
    assert response.status == 401
    assert recorder.pushes == []


async def test_uppercase_hex_signature_is_accepted(client: Any, recorder: Recorder) -> None:
    body = push_payload()
    response = await post_github(client, body, sig="sha256=" + signature(body)[7:].upper())
    assert response.status == 202


async def test_ping_answers_pong_only_when_signed(client: Any, recorder: Recorder) -> None:
    body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
    response = await post_github(client, body, event="ping")
    assert response.status == 200
    assert await response.json() == {"msg": "pong"}
    assert (await post_github(client, body, event="ping", sig="sha256=00")).status == 401
    assert recorder.pushes == []


@pytest.mark.parametrize(
    ("event", "body"),
    [
        ("issues", json.dumps({"action": "opened"}).encode()),
        ("push", push_payload(ref="refs/tags/v1.2.3")),
        ("push", push_payload(deleted=True)),
        ("", push_payload()),
    ],
    ids=["other-event", "tag-push", "branch-deleted", "no-event-header"],
)
async def test_events_that_change_no_branch_are_ignored(
    client: Any, recorder: Recorder, event: str, body: bytes
) -> None:
    response = await post_github(client, body, event=event)
    assert response.status == 202
    answer = await response.json()
    assert answer["triggered"] == 0 and answer["ignored"]
    assert recorder.pushes == []


@pytest.mark.parametrize(
    "body", [b"not json", b"[1, 2]", json.dumps({"ref": "refs/heads/main"}).encode()], ids=["text", "list", "no-repo"]
)
async def test_malformed_push_is_a_bad_request(client: Any, recorder: Recorder, body: bytes) -> None:
    response = await post_github(client, body)
    assert response.status == 400
    assert recorder.pushes == []


async def test_body_over_one_mebibyte_is_refused(client: Any, recorder: Recorder) -> None:
    body = push_payload(padding="x" * webhooks.MAX_BODY_BYTES)
    response = await post_github(client, body)
    assert response.status == 413
    assert recorder.pushes == []


async def test_streamed_body_over_the_limit_is_refused(recorder: Recorder) -> None:
    # Chunked upload: no Content-Length to check up front, so the limit applies while reading.
    receiver = webhooks.Receiver(
        secret_provider=recorder.secret_provider,
        trigger=recorder.trigger,
        trigger_config=recorder.trigger_config,
        max_body_bytes=1000,
    )
    body = push_payload(padding="x" * 2000)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 500):
            yield body[start : start + 500]

    async with test_utils.TestClient(test_utils.TestServer(receiver.app(), host="127.0.0.1")) as client:
        headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": signature(body)}
        response = await client.post("/hook/github", data=chunks(), headers=headers)
        assert response.status == 413
    assert recorder.pushes == []


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def timed(recorder: Recorder) -> AsyncIterator[tuple[Any, Clock]]:
    """A receiver whose clock the test moves: the webhook Secret is cached for `SECRET_TTL` seconds."""
    clock = Clock()
    receiver = webhooks.Receiver(
        secret_provider=recorder.secret_provider, trigger=recorder.trigger, trigger_config=recorder.trigger_config,
        clock=clock, max_deliveries=3,
    )  # fmt: skip
    server = test_utils.TestServer(receiver.app(), host="127.0.0.1", port=0)
    async with test_utils.TestClient(server) as test_client:
        yield test_client, clock


async def test_a_rotated_secret_applies_once_the_cached_one_expires(
    timed: tuple[Any, Clock], recorder: Recorder
) -> None:
    client, clock = timed
    body = push_payload()
    assert (await post_github(client, body)).status == 202
    recorder.secret = b"rotated-secret-value"
    rotated = signature(body, b"rotated-secret-value")
    assert (await post_github(client, body, sig=rotated)).status == 401  # the cached secret still applies
    clock.now += webhooks.SECRET_TTL + 1
    assert (await post_github(client, body)).status == 401  # signed with the old secret
    assert (await post_github(client, body, sig=rotated)).status == 202
    assert len(recorder.pushes) == 2
    assert recorder.secret_reads == 2  # one API call per TTL, not one per request


async def test_a_malformed_signature_is_refused_before_the_secret_is_read(
    client: Any, recorder: Recorder
) -> None:
    body = push_payload()
    for sig in ("sha256=zz", "sha1=" + "0" * 40, "sha256=" + "0" * 63, "sha256=" + "g" * 64, "x" * 5000):
        assert (await post_github(client, body, sig=sig)).status == 401, sig
    generic = await client.post("/hook/generic/flux-system/fleet", data=b"{}", headers={"X-Signature": "nope"})
    assert generic.status == 401
    assert recorder.secret_reads == 0 and recorder.pushes == [] and recorder.configs == []


async def test_a_repeated_delivery_is_ignored_and_memory_is_bounded(
    timed: tuple[Any, Clock], recorder: Recorder
) -> None:
    client, _ = timed
    body = push_payload()
    first = await post_github(client, body, delivery="delivery-1")
    again = await post_github(client, body, delivery="delivery-1")
    assert (first.status, again.status) == (202, 202)
    assert await again.json() == {"triggered": 0, "ignored": "delivery delivery-1 was already handled"}
    assert len(recorder.pushes) == 1
    # An unauthenticated request never marks a delivery as seen (it could block the real one).
    assert (await post_github(client, body, sig="sha256=" + "0" * 64, delivery="delivery-2")).status == 401
    assert (await post_github(client, body, delivery="delivery-2")).status == 202
    # Only the last `max_deliveries` (3 here) are remembered.
    for name in ("delivery-3", "delivery-4"):
        await post_github(client, body, delivery=name)
    assert len(recorder.pushes) == 4
    assert await (await post_github(client, body, delivery="delivery-1")).json() == {"triggered": 2}


async def test_an_empty_secret_refuses_everything(client: Any, recorder: Recorder) -> None:
    # With an empty HMAC key anyone could compute a valid signature.
    recorder.secret = b""
    body = push_payload()
    response = await post_github(client, body, sig=signature(body, b""))
    assert response.status == 503
    assert recorder.pushes == []


async def test_an_unreadable_secret_refuses_without_leaking_the_error(
    client: Any, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    recorder.secret_error = RuntimeError("secret data: token=leaked-canary-1234")
    caplog.set_level(logging.DEBUG)
    response = await post_github(client, push_payload())
    assert response.status == 503
    assert "leaked-canary-1234" not in caplog.text + await response.text()
    assert recorder.pushes == []


async def test_neither_the_secret_nor_signatures_are_logged(
    client: Any, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = push_payload()
    wrong = signature(body, b"attacker-guess")
    await post_github(client, body)
    await post_github(client, body, sig=wrong)
    await post_github(client, body, event="ping")
    logged = caplog.text
    assert "acme/fleet" in logged  # the receiver does log what happened...
    for forbidden in (SECRET.decode(), signature(body)[7:], wrong[7:]):
        assert forbidden not in logged  # ...but never the secret or a signature


async def test_generic_hook_triggers_the_named_config(client: Any, recorder: Recorder) -> None:
    body = b'{"reason": "ci finished"}'
    response = await client.post("/hook/generic/flux-system/fleet", data=body, headers={"X-Signature": signature(body)})
    assert response.status == 202
    assert await response.json() == {"triggered": 1}
    assert recorder.configs == [("flux-system", "fleet")]


async def test_generic_hook_accepts_an_empty_signed_body(client: Any, recorder: Recorder) -> None:
    response = await client.post("/hook/generic/apps/fleet", data=b"", headers={"X-Signature": signature(b"")})
    assert response.status == 202
    assert recorder.configs == [("apps", "fleet")]


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Signature": "sha256=deadbeef"}, {"X-Hub-Signature-256": signature(b"{}")}],
    ids=["missing", "wrong", "github-header-instead"],
)
async def test_generic_hook_without_a_valid_signature_is_refused(
    client: Any, recorder: Recorder, headers: dict[str, str]
) -> None:
    response = await client.post("/hook/generic/flux-system/fleet", data=b"{}", headers=headers)
    assert response.status == 401
    assert recorder.configs == []


async def test_generic_hook_for_a_config_that_does_not_exist_is_not_found(client: Any, recorder: Recorder) -> None:
    recorder.config_result = 0
    response = await client.post("/hook/generic/apps/nope", data=b"{}", headers={"X-Signature": signature(b"{}")})
    assert response.status == 404
    assert recorder.configs == [("apps", "nope")]


async def test_generic_hook_with_an_invalid_name_calls_nothing(client: Any, recorder: Recorder) -> None:
    response = await client.post("/hook/generic/apps/Not_A_Name", data=b"{}", headers={"X-Signature": signature(b"{}")})
    assert response.status == 404
    assert recorder.configs == []


async def test_only_post_is_accepted(client: Any) -> None:
    assert (await client.get("/hook/github")).status == 405
    assert (await client.post("/hook/gitlab", data=b"{}")).status == 404


async def test_real_server_on_an_ephemeral_port(recorder: Recorder) -> None:
    async def trigger(push: webhooks.PushEvent) -> int:  # an async callback works as well as a plain one
        recorder.pushes.append(push)
        return 1

    receiver = webhooks.Receiver(
        secret_provider=recorder.secret_provider, trigger=trigger, trigger_config=recorder.trigger_config
    )
    port = await receiver.start(0, host="127.0.0.1")
    try:
        body = push_payload()
        headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": signature(body)}
        url = f"http://127.0.0.1:{port}/hook/github"
        async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as response:
            assert response.status == 202
            assert await response.json() == {"triggered": 1}
    finally:
        await receiver.stop()
    await receiver.stop()
    assert [p.full_name for p in recorder.pushes] == ["acme/fleet"]


@pytest.mark.parametrize(
    ("event_url", "config_url", "same"),
    [
        ("git@github.com:acme/fleet.git", "ssh://git@github.com/acme/fleet.git", True),
        ("https://github.com/acme/fleet", "ssh://git@github.com/acme/fleet.git", True),
        ("https://github.com/acme/fleet.git", "git@github.com:acme/fleet.git", True),
        ("https://github.com/acme/fleet/", "https://github.com/acme/fleet.git", True),
        ("https://GitHub.COM/acme/fleet", "https://github.com/acme/fleet", True),
        ("https://github.com/Acme/Fleet", "https://github.com/acme/fleet", True),  # GitHub paths ignore case
        ("git://github.com/acme/fleet.git", "https://github.com/acme/fleet", True),
        ("ssh://git@github.com:22/acme/fleet.git", "https://github.com/acme/fleet", True),
        ("https://x-access-token:tok@github.com/acme/fleet", "https://github.com/acme/fleet", True),
        ("https://ghe.example.com/platform/fleet.git", "git@ghe.example.com:platform/fleet.git", True),
        ("file:///srv/git/fleet.git", "file:///srv/git/fleet", True),
        ("https://github.com/acme/fleet", "https://github.com/acme/fleet-staging", False),
        ("https://github.com/acme/fleet", "https://github.com/other/fleet", False),
        ("https://github.com/acme/fleet", "https://gitlab.com/acme/fleet", False),
        ("https://github.com/acme/fleet", "https://github.com/acme", False),
        ("https://github.com/acme/fleet", "", False),
        ("", "https://github.com/acme/fleet", False),
        ("https://github.com/", "https://github.com", False),
    ],
)
def test_matches_repository(event_url: str, config_url: str, same: bool) -> None:
    assert webhooks.matches_repository([event_url], config_url) is same
    assert webhooks.matches_repository([event_url], config_url) is webhooks.matches_repository(
        [config_url], event_url
    )  # symmetric


def test_matches_repository_with_any_of_the_event_urls() -> None:
    urls = ["https://github.com/acme/fleet.git", "git@github.com:acme/fleet.git"]
    assert webhooks.matches_repository(urls, "ssh://git@github.com/acme/fleet")
    assert not webhooks.matches_repository(urls, "ssh://git@github.com/acme/other")
    assert not webhooks.matches_repository([], "ssh://git@github.com/acme/fleet")
