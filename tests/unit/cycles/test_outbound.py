"""Credentials never go over plain http except to loopback (issue 10, item 7): a HelmRepository or an insecure
OCI source that would send them to a remote host over http fails its releases only (HttpsRequired), before any
request; the same source on 127.0.0.1 is read as before."""

from __future__ import annotations

import pytest
from aiohttp import web

from fluxcd_helm_upgrader import config as config_
from fluxcd_helm_upgrader.cycles import running
from fluxcd_helm_upgrader.cycles.view import FluxView
from fluxcd_helm_upgrader.structs import flux
from tests.fakes import FakeSecrets
from tests.unit.cycles.test_oci_cycle import FakeRegistry
from tests.unit.sources import http_fixtures


async def _empty_index(request: web.Request) -> web.Response:
    return web.Response(body=b"apiVersion: v1\nentries: {}\n")


SECRETS = FakeSecrets({("apps", "creds"): {"username": b"flux", "password": b"hunter2-password"}})


def _cfg() -> config_.UpgraderConfigSpec:
    return config_.parse({"interval": "30m", "git": {"url": "file:///tmp/x.git"}, "pullRequests": {"provider": "none"}})


def _http_view(url: str, secret: str | None = "creds") -> FluxView:
    spec = {"url": url, **({"secretRef": {"name": secret}} if secret else {})}
    release = {"metadata": {"namespace": "apps", "name": "web"},
               "spec": {"chart": {"spec": {"chart": "nginx", "version": "1.0.0",
                                           "sourceRef": {"kind": "HelmRepository", "name": "charts"}}}}}  # fmt: skip
    return FluxView(
        releases={("apps", "web"): flux.helm_release(release)},
        helm_repositories={("apps", "charts"): flux.helm_repository(
            {"metadata": {"namespace": "apps", "name": "charts"}, "spec": spec})},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("http://charts.example.test/helm", "creds"),  # a secretRef with username/password
        ("http://flux:hunter2-password@charts.example.test/helm", None),  # Helm-style userinfo
    ],
)
async def test_http_repository_credentials_to_a_remote_host_are_refused(url: str, secret: str | None) -> None:
    async with http_fixtures.new_fetcher() as fetcher:
        outcome = await running.run(_cfg(), _http_view(url, secret), fetcher=fetcher, secrets_api=SECRETS)
    (failed,) = outcome.failed
    assert failed.failure.reason == "HttpsRequired"
    assert "https is required" in failed.failure.message and "charts.example.test" in failed.failure.message
    assert "hunter2" not in failed.failure.message
    assert outcome.fetches == {}  # nothing was sent anywhere


async def test_the_same_credentials_go_to_loopback_over_http() -> None:
    async with (
        http_fixtures.local_server(_empty_index) as server,
        http_fixtures.new_fetcher() as fetcher,
    ):
        outcome = await running.run(_cfg(), _http_view(server.url), fetcher=fetcher, secrets_api=SECRETS)
    (failed,) = outcome.failed
    assert failed.failure.reason == "ChartNotFound"  # read, with the credentials
    assert server.seen[0].headers.get("Authorization", "").startswith("Basic ")


def _oci_view(registry: str) -> FluxView:
    release = {"metadata": {"namespace": "apps", "name": "web"},
               "spec": {"chartRef": {"kind": "OCIRepository", "name": "web"}}}  # fmt: skip
    source = {"metadata": {"namespace": "apps", "name": "web"},
              "spec": {"url": f"oci://{registry}/charts/web", "insecure": True, "ref": {"tag": "1.0.0"},
                       "secretRef": {"name": "creds"}}}  # fmt: skip
    return FluxView(releases={("apps", "web"): flux.helm_release(release)},
                    oci_repositories={("apps", "web"): flux.oci_repository(source)})  # fmt: skip


@pytest.mark.parametrize(("registry", "reason"), [("registry.example.test:5000", "HttpsRequired"),
                                                  ("127.0.0.1:5000", None)])  # fmt: skip
async def test_an_insecure_registry_gets_credentials_only_on_loopback(registry: str, reason: str | None) -> None:
    fake = FakeRegistry({"charts/web": ["1.0.0", "1.1.0"]})
    async with http_fixtures.new_fetcher() as fetcher:
        outcome = await running.run(_cfg(), _oci_view(registry), fetcher=fetcher, secrets_api=SECRETS,
                                    oci_client=fake)  # type: ignore[arg-type]  # fmt: skip
    if reason is None:
        assert outcome.failed == () and [c.target for c in outcome.outdated] == ["1.1.0"]
    else:
        (failed,) = outcome.failed
        assert failed.failure.reason == reason and "https is required" in failed.failure.message
        assert fake.calls == []
