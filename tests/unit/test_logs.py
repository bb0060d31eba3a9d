"""Logs: plain or JSON lines, and secrets masked whatever reaches a log call."""

from __future__ import annotations

import io
import json
import logging

import pytest

from fluxcd_helm_upgrader import logs

CANARY = "ghp_CANARYlogs0123456789abcdefghijklmnop"


@pytest.fixture
def stream() -> io.StringIO:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(logs.RedactingFilter())
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield buffer
    logger.removeHandler(handler)


@pytest.mark.parametrize(
    "message",
    [
        f"cloning https://x-access-token:{CANARY}@github.com/acme/fleet.git",
        f"Authorization: Bearer {CANARY}",
        f"token={CANARY}",
        f"found {CANARY} in a response",
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----",
    ],
)
def test_secrets_are_masked(stream: io.StringIO, message: str) -> None:
    logging.getLogger("test.redaction").info("%s", message)
    text = stream.getvalue()
    assert CANARY not in text
    assert "b3BlbnNzaC1rZXktdjEAAAAA" not in text
    # A masked value, or a URL shown without its userinfo.
    assert "***" in text or "https://github.com/acme/fleet.git" in text


def test_a_remembered_key_still_masks_a_whole_pem_block(stream: io.StringIO) -> None:
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAB\n-----END OPENSSH PRIVATE KEY-----"
    logs.remember_secret(key)
    logging.getLogger("test.redaction").info("key was %s", key)
    assert "b3BlbnNzaC1rZXktdjEAAAAB" not in stream.getvalue()
    assert "***PRIVATE KEY***" in stream.getvalue()


def test_values_read_from_secrets_are_masked_verbatim(stream: io.StringIO) -> None:
    logs.remember_secret(b"hunter2-correct-horse")
    logging.getLogger("test.redaction").warning("login with hunter2-correct-horse failed")
    assert "hunter2-correct-horse" not in stream.getvalue()


def test_exceptions_are_masked(stream: io.StringIO) -> None:
    try:
        raise RuntimeError(f"push to https://user:{CANARY}@example.com failed")
    except RuntimeError:
        logging.getLogger("test.redaction").exception("git failed")
    assert CANARY not in stream.getvalue()
    assert "git failed" in stream.getvalue()


def test_json_lines_carry_the_object_and_fields() -> None:
    record = logging.LogRecord("kopf.objects", logging.INFO, __file__, 1, "cycle done: %d releases", (3,), None)
    record.k8s_ref = {"kind": "UpgraderConfig", "namespace": "flux-system", "name": "fleet"}
    record.release = "apps/podinfo"
    line = json.loads(logs.JsonFormatter().format(record))
    assert line["message"] == "cycle done: 3 releases"
    assert line["level"] == "info"
    assert line["object"] == {"kind": "UpgraderConfig", "namespace": "flux-system", "name": "fleet"}
    assert line["release"] == "apps/podinfo"


def test_configure_installs_the_filter_on_every_root_handler() -> None:
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    try:
        logs.configure(json_logs=True)
        assert root.handlers and all(
            any(isinstance(f, logs.RedactingFilter) for f in h.filters) for h in root.handlers
        )
        assert isinstance(root.handlers[0].formatter, logs.JsonFormatter)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
