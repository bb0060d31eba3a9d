"""The one URL form that is stored and shown (no userinfo, no query), and where credentials may travel."""

from __future__ import annotations

import pytest

from fluxcd_helm_upgrader.structs import urls


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://bob:hunter2@example.com/index.yaml?sig=abc", "https://example.com/index.yaml"),
        ("http://127.0.0.1:8080/demo?token=1#frag", "http://127.0.0.1:8080/demo"),
        ("https://ghp_token@github.com/acme/fleet.git", "https://github.com/acme/fleet.git"),
        ("ssh://git@github.com:22/acme/fleet.git", "ssh://github.com:22/acme/fleet.git"),
        ("oci://ghcr.io/stefanprodan/charts", "oci://ghcr.io/stefanprodan/charts"),
        ("https://[::1]:8443/charts", "https://[::1]:8443/charts"),
        ("https://host/@scope/pkg", "https://host/@scope/pkg"),
        # A "/" in the password makes its tail look like a path: everything after the scheme is hidden.
        ("https://user:pa/ss@host/x", "https://***"),
        ("https://user/x:pass@host/a", "https://***"),
        # Not a URL: nothing to drop but a query.
        ("git@github.com:acme/fleet.git", "git@github.com:acme/fleet.git"),
        ("charts.example.com/helm?token=abc", "charts.example.com/helm"),
    ],
)
def test_sanitize(url: str, shown: str) -> None:
    assert urls.sanitize(url) == shown


def test_sanitize_text_cleans_every_url_in_a_message_and_keeps_the_punctuation() -> None:
    text = "fatal: unable to access 'https://bot:tok3n@h/x.git/': see (https://a:b@c/d?x=secret)."
    assert urls.sanitize_text(text) == "fatal: unable to access 'https://h/x.git/': see (https://c/d)."


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.9.9.9", True), ("::1", True), ("[::1]", True), ("localhost", True),
     ("LOCALHOST.", True), ("10.0.0.1", False), ("example.com", False), ("localhost.example.com", False)],
)  # fmt: skip
def test_is_loopback(host: str, loopback: bool) -> None:
    assert urls.is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("url", "clear"),
    [("http://charts.example.com/", True), ("http://127.0.0.1:8080/", False), ("http://[::1]/x", False),
     ("https://charts.example.com/", False), ("HTTP://Example.com/", True)],
)  # fmt: skip
def test_sends_in_clear(url: str, clear: bool) -> None:
    assert urls.sends_in_clear(url) is clear


def test_https_required_message_names_the_host_without_credentials() -> None:
    message = urls.https_required("HelmRepository apps/charts", "http://u:pw@charts.example.com/x?t=1")
    assert "https is required" in message and "charts.example.com" in message
    assert "pw" not in message and "t=1" not in message
