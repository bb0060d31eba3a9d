"""The OCI client against a real registry: Debian's docker-registry (distribution 2.8) on 127.0.0.1.

Charts are pushed the way `helm push` does; the client must list them, order them as Helm would,
pin digests and read Chart.yaml, anonymously, with htpasswd Basic auth and with the Docker token
flow. Skips when /usr/bin/docker-registry is absent (`apt-get install docker-registry`), fails under CI=true.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from fluxcd_helm_upgrader.checking import oci_tags
from fluxcd_helm_upgrader.sources import oci
from tests.support import registry

pytestmark = pytest.mark.usefixtures("registry_installed")  # skips without it; fails under CI=true

REPOSITORY = "charts/podinfo"
# (version, appVersion): pushed in this deliberately unsorted order.
CHARTS = [("6.7.1", "6.7.1"), ("1.2.3+build", "1.2.3"), ("7.0.0-rc.1", "7.0.0"), ("6.5.0", "6.5.0"), ("6.6.0", "6.6.0")]
USER, PASSWORD = "flux", "s3cret-pa55"


async def _push_all(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None, repository: str = REPOSITORY
) -> dict[str, str]:
    """Push CHARTS plus a `latest` tag; return {tag: manifest digest}."""
    digests = {}
    for version, app_version in CHARTS:
        tag = version.replace("+", "_")
        digests[tag] = await registry.push_chart(
            session, url, repository, "podinfo", version, app_version, headers=headers
        )
    digests["latest"] = await registry.push_chart(
        session, url, repository, "podinfo", "6.7.1", "6.7.1", headers=headers, tag="latest"
    )
    return digests


def _ref(reg: registry.RegistryProcess, repository: str = REPOSITORY) -> oci.OciRef:
    # A HelmRepository `type: oci` with `insecure: true` and the HelmRelease's chart name.
    return oci.chart_ref(f"oci://{reg.host}/{repository.rsplit('/', 1)[0]}", "podinfo", insecure=True)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def basic_registry(tmp_path: Path) -> Iterator[registry.RegistryProcess]:
    pytest.importorskip("bcrypt", reason="distribution's htpasswd needs bcrypt hashes: pip install bcrypt")
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(registry.htpasswd_line(USER, PASSWORD))
    auth = {"htpasswd": {"realm": "test", "path": str(htpasswd)}}
    reg = registry.start_registry(tmp_path / "registry", auth)
    yield reg
    reg.stop()


@pytest.fixture
async def token_setup(
    tmp_path: Path,
) -> AsyncIterator[tuple[registry.RegistryProcess, registry.TokenServer, registry.TokenIssuer]]:
    issuer = registry.TokenIssuer()
    server = await registry.start_token_server(issuer, username=USER, password=PASSWORD)
    auth = {
        "token": {
            "realm": server.realm,
            "service": registry.TOKEN_SERVICE,
            "issuer": registry.TOKEN_ISSUER,
            "rootcertbundle": str(issuer.write_bundle(tmp_path / "bundle.pem")),
        }
    }
    reg = registry.start_registry(tmp_path / "registry", auth)
    yield reg, server, issuer
    reg.stop()
    await server.runner.cleanup()


async def test_anonymous_tags_versions_digests_and_metadata(
    session: aiohttp.ClientSession, anonymous_registry: registry.RegistryProcess
) -> None:
    digests = await _push_all(session, anonymous_registry.url)
    client = oci.OciClient(session)
    ref = _ref(anonymous_registry)
    assert str(ref) == f"oci://{anonymous_registry.host}/charts/podinfo"

    tags = await client.list_tags(ref)
    assert sorted(tags) == sorted(digests)

    tagged, invalid = oci_tags.tags_to_versions(tags)
    assert [t.version for t in tagged] == ["1.2.3+build", "6.5.0", "6.6.0", "6.7.1", "7.0.0-rc.1"]
    assert ("1.2.3+build", "1.2.3_build") in tagged
    assert invalid == 0  # `latest` is expected, not invalid

    for tag, pushed in digests.items():
        assert await client.manifest_digest(ref, tag) == pushed
    assert digests["latest"] == digests["6.7.1"]

    metadata = await client.chart_metadata(ref, "1.2.3_build")
    assert (metadata["name"], metadata["version"]) == ("podinfo", "1.2.3+build")
    assert metadata["appVersion"] == "1.2.3"
    assert (await client.chart_metadata(ref, "7.0.0-rc.1"))["appVersion"] == "7.0.0"


async def test_metadata_falls_back_to_the_chart_tarball(
    session: aiohttp.ClientSession, anonymous_registry: registry.RegistryProcess
) -> None:
    # Some tools push an empty config; Chart.yaml then only lives in the tarball layer.
    await registry.push_chart(
        session, anonymous_registry.url, REPOSITORY, "podinfo", "6.8.0", "6.8.0-app", config=b"{}"
    )
    metadata = await oci.OciClient(session).chart_metadata(_ref(anonymous_registry), "6.8.0")
    assert metadata["appVersion"] == "6.8.0-app"


async def test_unknown_tag_and_repository_are_registry_errors(
    session: aiohttp.ClientSession, anonymous_registry: registry.RegistryProcess
) -> None:
    await registry.push_chart(session, anonymous_registry.url, REPOSITORY, "podinfo", "6.5.0", "6.5.0")
    client = oci.OciClient(session)
    with pytest.raises(oci.RegistryError) as missing_tag:
        await client.manifest_digest(_ref(anonymous_registry), "9.9.9")
    assert missing_tag.value.status == 404
    with pytest.raises(oci.RegistryError) as missing_repo:
        await client.list_tags(_ref(anonymous_registry, "nothing/podinfo"))
    assert missing_repo.value.status == 404
    assert "NAME_UNKNOWN" in str(missing_repo.value)


async def test_basic_auth(session: aiohttp.ClientSession, basic_registry: registry.RegistryProcess) -> None:
    push_auth = {"Authorization": oci.RegistryCreds(USER, PASSWORD).basic_header()}
    digests = await _push_all(session, basic_registry.url, push_auth)
    ref = _ref(basic_registry)
    client = oci.OciClient(session)

    with pytest.raises(oci.RegistryError) as anonymous:
        await client.list_tags(ref)
    assert anonymous.value.status == 401

    # The Secret the user would write for this HelmRepository, in both Flux formats.
    secret = {"username": USER.encode(), "password": PASSWORD.encode()}
    creds = oci.registry_creds_from_secret(secret, ref.registry)
    assert creds is not None
    assert sorted(await client.list_tags(ref, creds)) == sorted(digests)
    assert await client.manifest_digest(ref, "6.6.0", creds) == digests["6.6.0"]
    assert (await client.chart_metadata(ref, "6.6.0", creds))["version"] == "6.6.0"

    wrong = oci.RegistryCreds(USER, "not-the-password")
    with pytest.raises(oci.RegistryError) as rejected:
        await oci.OciClient(session).list_tags(ref, wrong)
    assert rejected.value.status == 401
    assert "not-the-password" not in str(rejected.value)


async def test_token_flow(
    session: aiohttp.ClientSession,
    token_setup: tuple[registry.RegistryProcess, registry.TokenServer, registry.TokenIssuer],
) -> None:
    reg, server, issuer = token_setup
    push_token = issuer.mint([{"type": "repository", "name": REPOSITORY, "actions": ["pull", "push"]}])
    digests = await _push_all(session, reg.url, {"Authorization": f"Bearer {push_token}"})
    ref = _ref(reg)
    creds = oci.RegistryCreds(USER, PASSWORD)
    client = oci.OciClient(session)

    assert sorted(await client.list_tags(ref, creds)) == sorted(digests)
    assert server.requests == [
        {"service": registry.TOKEN_SERVICE, "scopes": [f"repository:{REPOSITORY}:pull"], "authenticated": True}
    ]
    # The cached token serves the next calls: the token service is not asked again.
    assert await client.manifest_digest(ref, "6.7.1", creds) == digests["6.7.1"]
    assert (await client.chart_metadata(ref, "6.7.1", creds))["appVersion"] == "6.7.1"
    assert len(server.requests) == 1

    # Without credentials this repository is not readable: the registry refuses the anonymous token.
    with pytest.raises(oci.RegistryError) as anonymous:
        await client.list_tags(ref)
    assert anonymous.value.status == 401
    assert server.requests[-1]["authenticated"] is False

    with pytest.raises(oci.RegistryError) as rejected:
        await client.list_tags(ref, oci.RegistryCreds(USER, "wrong-pa55"))
    assert rejected.value.status == 401
    assert "wrong-pa55" not in str(rejected.value)


async def test_anonymous_token_for_public_repository(
    session: aiohttp.ClientSession,
    token_setup: tuple[registry.RegistryProcess, registry.TokenServer, registry.TokenIssuer],
) -> None:
    # Docker Hub style: public pulls still need a (credential-less) token.
    reg, server, issuer = token_setup
    public = "public/podinfo"
    push_token = issuer.mint([{"type": "repository", "name": public, "actions": ["pull", "push"]}])
    await registry.push_chart(
        session, reg.url, public, "podinfo", "6.5.0", "6.5.0", headers={"Authorization": f"Bearer {push_token}"}
    )
    tags = await oci.OciClient(session).list_tags(_ref(reg, public))
    assert tags == ["6.5.0"]
    assert server.requests == [
        {"service": registry.TOKEN_SERVICE, "scopes": [f"repository:{public}:pull"], "authenticated": False}
    ]


async def test_stopped_registry_fails_fast(
    session: aiohttp.ClientSession, anonymous_registry: registry.RegistryProcess
) -> None:
    anonymous_registry.stop()
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    started = time.monotonic()
    with pytest.raises(oci.RegistryError) as down:
        await oci.OciClient(session, sleep=sleep).list_tags(_ref(anonymous_registry))
    assert time.monotonic() - started < 2
    assert down.value.status is None
    assert "cannot connect" in str(down.value)
    assert slept == []
