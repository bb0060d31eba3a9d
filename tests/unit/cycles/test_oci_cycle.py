"""The OCI part of a check cycle with a scripted registry client: decisions on tags, digests, dedupe, failures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from fluxcd_helm_upgrader import config as config_
from fluxcd_helm_upgrader.cycles import jobs, running, syncing
from fluxcd_helm_upgrader.cycles.view import FluxView
from fluxcd_helm_upgrader.proposals import targets
from fluxcd_helm_upgrader.sources import helm_http, oci
from fluxcd_helm_upgrader.sources import secrets as secrets_
from fluxcd_helm_upgrader.structs import flux
from tests import builders
from tests.fakes import FakeSecrets

OLD, NEW = "sha256:" + "0" * 64, "sha256:" + "1" * 64


class FakeRegistry:
    """Answers like `sources.oci.OciClient`; records every call; `down` repositories fail like an outage."""

    def __init__(self, tags: dict[str, list[str]], down: frozenset[str] = frozenset()) -> None:
        self.tags, self.down = tags, down
        self.times: dict[str, str] = {}  # tag -> org.opencontainers.image.created
        self.calls: list[tuple[str, str, oci.RegistryCreds | None]] = []

    async def list_tags(self, ref: oci.OciRef, creds: oci.RegistryCreds | None = None) -> list[str]:
        self.calls.append(("tags", ref.repository, creds))
        if ref.repository in self.down:
            raise oci.RegistryError(f"{ref}: GET http://x/v2/...: cannot connect (Connection refused)")
        if ref.repository not in self.tags:
            raise oci.RegistryError(f"{ref}: listing tags failed: HTTP 404: NAME_UNKNOWN", 404)
        return self.tags[ref.repository]

    async def manifest_digest(self, ref: oci.OciRef, tag: str, creds: oci.RegistryCreds | None = None) -> str:
        self.calls.append(("digest", f"{ref.repository}:{tag}", creds))
        return NEW

    async def created(self, ref: oci.OciRef, tag: str, creds: oci.RegistryCreds | None = None) -> str | None:
        self.calls.append(("created", f"{ref.repository}:{tag}", creds))
        return self.times.get(tag)

    async def chart_metadata(self, ref: oci.OciRef, tag: str, creds: oci.RegistryCreds | None = None) -> dict[str, Any]:
        # Asked only for proposals (the PR body's appVersion); not recorded in `calls`, which counts list/digest.
        return {"name": ref.repository.rsplit("/", 1)[-1], "version": tag, "appVersion": f"app-{tag}"}


def _cfg(**policy: Any) -> config_.UpgraderConfigSpec:
    return config_.parse({"interval": "30m", "git": {"url": "file:///tmp/x.git"}, "pullRequests": {"provider": "none"},
                          "policy": policy})  # fmt: skip


def _release(name: str, chart_ref: dict[str, str] | None = None, **chart_spec: Any) -> flux.HelmRelease:
    return flux.helm_release(builders.release_spec(name, chart_ref, **chart_spec))


def _oci_repo(name: str, repository: str, ref: dict[str, str], secret: str | None = None) -> flux.OCIRepository:
    spec: dict[str, Any] = {"url": f"oci://reg.example/{repository}", "ref": ref}
    if secret:
        spec["secretRef"] = {"name": secret}
    return flux.oci_repository({"metadata": {"namespace": "apps", "name": name}, "spec": spec})


@pytest.fixture
async def fetcher() -> AsyncIterator[helm_http.IndexFetcher]:
    async with helm_http.IndexFetcher() as value:
        yield value


async def _run(
    view: FluxView,
    registry: FakeRegistry,
    fetcher: helm_http.IndexFetcher,
    secrets: FakeSecrets | None = None,
    skipped: dict[str, list[str]] | None = None,
    **policy: Any,
) -> running.Outcome:
    return await running.run(
        _cfg(**policy), view, fetcher=fetcher, secrets_api=secrets or FakeSecrets({}), skipped_targets=skipped,
        oci_client=registry,  # type: ignore[arg-type]
    )  # fmt: skip


async def test_tags_are_decided_as_versions_and_written_back_as_tags(fetcher: helm_http.IndexFetcher) -> None:
    registry = FakeRegistry({"charts/podinfo": ["6.5.0", "latest", "6.7.1_build.2", "6.6.0", "7.0.0-rc.1", "v9.0.0"]})
    view = FluxView(
        releases={("apps", "a"): _release("a", {"kind": "OCIRepository", "name": "tagged"}),
                  ("apps", "b"): _release("b", {"kind": "OCIRepository", "name": "pinned"}),
                  ("apps", "c"): _release("c", {"kind": "OCIRepository", "name": "ranged"})},
        oci_repositories={("apps", "tagged"): _oci_repo("tagged", "charts/podinfo", {"tag": "6.5.0"}),
                          ("apps", "pinned"): _oci_repo("pinned", "charts/podinfo", {"tag": "6.5.0", "digest": OLD}),
                          ("apps", "ranged"): _oci_repo("ranged", "charts/podinfo", {"semver": "6.5.x"})},
    )  # fmt: skip
    outcome = await _run(view, registry, fetcher)
    assert outcome.failed == ()
    by_name = {c.release.name: c for c in outcome.checked}
    # "6.7.1_build.2" is Helm's tag for chart version 6.7.1+build.2: decided as a version, written as the tag.
    assert by_name["a"].decision.newest == "6.7.1+build.2" and by_name["a"].target == "6.7.1_build.2"
    assert by_name["a"].digest is None
    # appVersion of the current and the new version, read by tag, for the PR body.
    assert [(v.version, v.app_version) for v in by_name["a"].versions] == [
        ("6.5.0", "app-6.5.0"),
        ("6.7.1+build.2", "app-6.7.1_build.2"),
    ]
    assert by_name["b"].digest == targets.DigestPin(OLD, NEW)
    assert by_name["c"].target == "6.7.x"  # the range, rewritten in its own style
    # One tag list for three releases on one repository; one digest for the one pinned release.
    assert [c[0] for c in registry.calls].count("tags") == 1
    assert registry.calls.count(("digest", "charts/podinfo:6.7.1_build.2", None)) == 1
    assert outcome.tag_lists == 1

    plan = jobs.plan_for(by_name["b"])
    assert plan == targets.EditPlan("OCIRepository", "apps", "pinned", "spec.ref.tag", "6.5.0", "6.7.1_build.2",
                                    targets.DigestPin(OLD, NEW))  # fmt: skip
    spec = syncing.proposal_spec("fleet", by_name["b"])
    assert spec["source"] == {"kind": "OCIRepository", "namespace": "apps", "name": "pinned",
                              "url": "oci://reg.example/charts/podinfo"}  # fmt: skip
    assert (spec["chart"], spec["currentVersion"], spec["targetVersion"]) == ("podinfo", "6.5.0", "6.7.1_build.2")


async def test_a_closed_tag_is_skipped(fetcher: helm_http.IndexFetcher) -> None:
    registry = FakeRegistry({"charts/podinfo": ["6.5.0", "6.6.0_b", "6.7.0_b"]})
    view = FluxView(
        releases={("apps", "a"): _release("a", {"kind": "OCIRepository", "name": "tagged"})},
        oci_repositories={("apps", "tagged"): _oci_repo("tagged", "charts/podinfo", {"tag": "6.5.0"})},
    )
    outcome = await _run(view, registry, fetcher, skipped={"apps/a": ["6.7.0_b"]})
    assert outcome.outdated == ()  # the closed PR's tag, compared as a version


async def test_credentials_come_from_the_secret_and_outages_fail_only_their_releases(
    fetcher: helm_http.IndexFetcher,
) -> None:
    registry = FakeRegistry({"private/podinfo": ["1.0.0", "1.1.0"]}, down=frozenset({"down/podinfo"}))
    secrets = FakeSecrets({("apps", "creds"): {"username": b"flux", "password": b"pw"}})
    view = FluxView(
        releases={("apps", "ok"): _release("ok", {"kind": "OCIRepository", "name": "private"}),
                  ("apps", "down"): _release("down", {"kind": "OCIRepository", "name": "down"}),
                  ("apps", "gone"): _release("gone", {"kind": "OCIRepository", "name": "gone"}),
                  ("apps", "nosecret"): _release("nosecret", {"kind": "OCIRepository", "name": "nosecret"})},
        oci_repositories={
            ("apps", "private"): _oci_repo("private", "private/podinfo", {"tag": "1.0.0"}, secret="creds"),
            ("apps", "down"): _oci_repo("down", "down/podinfo", {"tag": "1.0.0"}),
            ("apps", "gone"): _oci_repo("gone", "gone/podinfo", {"tag": "1.0.0"}),
            ("apps", "nosecret"): _oci_repo("nosecret", "private/podinfo", {"tag": "1.0.0"}, secret="missing"),
        },
    )  # fmt: skip
    outcome = await _run(view, registry, fetcher, secrets)
    assert [c.release.name for c in outcome.outdated] == ["ok"]
    assert ("tags", "private/podinfo", oci.RegistryCreds("flux", "pw")) in registry.calls
    failed = {f.release.name: f.failure for f in outcome.failed}
    assert failed["down"].reason == "FetchFailed" and "cannot connect" in failed["down"].message
    assert failed["gone"].reason == "ChartNotFound"
    assert failed["nosecret"].reason == "AuthFailed" and "apps/missing not found" in failed["nosecret"].message
    assert all(f.message.startswith(f"apps/{name}: OCIRepository apps/{name}") for name, f in failed.items())


class ForbiddenSecrets(FakeSecrets):
    """Secrets read as a config's ServiceAccount that may not `get` them (tenancy.impersonation's refusal)."""

    async def read_namespaced_secret(self, name: str, namespace: str) -> Any:
        raise secrets_.SecretForbidden(f"ServiceAccount apps/tenant may not read secret {namespace}/{name}")


async def test_a_registry_secret_the_configs_account_may_not_read_fails_only_its_release_as_forbidden(
    fetcher: helm_http.IndexFetcher,
) -> None:
    registry = FakeRegistry({"private/podinfo": ["1.0.0", "1.1.0"], "public/podinfo": ["1.0.0", "1.1.0"]})
    view = FluxView(
        releases={("apps", "locked"): _release("locked", {"kind": "OCIRepository", "name": "private"}),
                  ("apps", "open"): _release("open", {"kind": "OCIRepository", "name": "public"})},
        oci_repositories={
            ("apps", "private"): _oci_repo("private", "private/podinfo", {"tag": "1.0.0"}, secret="creds"),
            ("apps", "public"): _oci_repo("public", "public/podinfo", {"tag": "1.0.0"}),
        },
    )  # fmt: skip
    outcome = await _run(view, registry, fetcher, ForbiddenSecrets({}))
    assert [c.release.name for c in outcome.outdated] == ["open"]
    (failed,) = outcome.failed
    assert (failed.release.name, failed.failure.reason) == ("locked", "Forbidden")
    assert "ServiceAccount apps/tenant may not read secret apps/creds" in failed.failure.message
    assert not [call for call in registry.calls if call[1] == "private/podinfo"], "nothing sent without credentials"


async def test_minimum_release_age_reads_the_push_time_only_of_the_tags_the_decision_reaches(
    fetcher: helm_http.IndexFetcher,
) -> None:
    registry = FakeRegistry({"charts/podinfo": ["6.5.0", "6.6.0", "6.7.1_build.2", "7.0.0"]})
    registry.times = {"7.0.0": "2999-01-01T00:00:00Z", "6.7.1_build.2": "2020-01-01T00:00:00Z"}
    view = FluxView(
        releases={("apps", "a"): _release("a", {"kind": "OCIRepository", "name": "tagged"})},
        oci_repositories={("apps", "tagged"): _oci_repo("tagged", "charts/podinfo", {"tag": "6.5.0"})},
    )
    outcome = await _run(view, registry, fetcher, minimumReleaseAge="3d")
    [checked] = outcome.checked
    assert checked.target == "6.7.1_build.2"  # 7.0.0 is too young; the older one is old enough
    assert [h.version for h in checked.held] == ["7.0.0"]
    asked = [c[1] for c in registry.calls if c[0] == "created"]
    assert asked == ["charts/podinfo:7.0.0", "charts/podinfo:6.7.1_build.2"]
