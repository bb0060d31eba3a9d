"""What the Git worker's risk assessment compares and what it says when it cannot: never an exception, never a block."""

from __future__ import annotations

import asyncio
from typing import Any

from fluxcd_helm_upgrader.checking import chart_archive, decisions, indexes
from fluxcd_helm_upgrader.cycles import resolving, running, subjects
from fluxcd_helm_upgrader.proposals import risking
from fluxcd_helm_upgrader.sources import charts, oci
from fluxcd_helm_upgrader.structs import flux, proposals

REPO = flux.HelmRepository("flux-system", "charts", "https://charts.example.com")
ENTRIES = tuple(indexes.ChartVersion("podinfo", v, urls=(f"podinfo-{v}.tgz",), deprecated=v == "7.0.0")
                for v in ("7.0.0", "6.6.0", "6.5.0"))  # fmt: skip


def _checked(release: flux.HelmRelease, source: resolving.Checkable, current: str = "6.5.0") -> running.Checked:
    outcome = decisions.Verdict.PROPOSE
    decision = decisions.Decision(outcome, "", target="7.0.0", newest="7.0.0", current_resolved=current)
    return running.Checked(release, source, decision, ENTRIES)


def _http_source() -> resolving.HttpChart:
    origin = resolving.Origin("HelmRepository", "flux-system", "charts", REPO.url)
    edited = resolving.Edited("HelmRelease", "apps", "podinfo", "spec.chart.spec.version", None)
    return resolving.HttpChart(REPO, "podinfo", "6.x", origin, edited)


def test_subject_compares_what_the_cluster_runs_with_the_target() -> None:
    release = flux.helm_release({
        "metadata": {"namespace": "apps", "name": "podinfo"},
        "spec": {"values": {"a": 1}, "upgrade": {"crds": "CreateReplace"}, "valuesFrom": [{"kind": "Secret"}]},
        "status": {"history": [{"chartVersion": "6.5.0", "status": "deployed"}]},
    })  # fmt: skip
    subject = subjects.subject_for(_checked(release, _http_source(), current="6.6.0"))
    assert subject is not None
    assert (subject.from_version, subject.to_version, subject.deprecated) == ("6.5.0", "7.0.0", True)
    assert isinstance(subject.current, charts.HttpChartRef) and subject.current.entry.version == "6.5.0"
    assert subject.release.values == {"a": 1} and subject.release.upgrade_crds == "CreateReplace"
    assert subject.release.values_from


def test_oci_subjects_name_the_tags_helm_pushed() -> None:
    release = flux.helm_release({"metadata": {"namespace": "apps", "name": "podinfo"}, "spec": {}})
    origin = resolving.Origin("OCIRepository", "apps", "podinfo", "oci://r.example/charts/podinfo")
    edited = resolving.Edited("OCIRepository", "apps", "podinfo", "spec.ref.tag", None)
    source = resolving.OciChart(oci.parse_ref(origin.url), ("apps", "creds"), "podinfo", "6.5.0", origin, edited)
    checked = running.Checked(release, source, decisions.Decision(
        decisions.Verdict.PROPOSE, "", target="7.0.0_build.1", newest="7.0.0+build.1", current_resolved="6.5.0"), ())
    subject = subjects.subject_for(checked)
    assert subject is not None and isinstance(subject.target, charts.OciChartRef)
    assert (subject.target.tag, subject.target.secret) == ("7.0.0_build.1", ("apps", "creds"))


class FakeFetcher:
    def __init__(self, result: Any) -> None:
        self.result = result

    async def chart(self, wanted: charts.ChartRef, secrets_api: Any) -> chart_archive.Chart:
        if isinstance(self.result, Exception):
            raise self.result
        if self.result == "slow":
            await asyncio.sleep(10)
        return chart_archive.Chart("podinfo", wanted.entry.version if isinstance(wanted, charts.HttpChartRef) else "")


async def _cluster() -> str | None:
    return "v1.31.0"


def _assessor(result: Any, timeout: float = 5.0) -> risking.Assessor:
    return risking.Assessor(FakeFetcher(result), None, _cluster, timeout=timeout)  # type: ignore[arg-type]


def _subject() -> risking.Subject:
    release = flux.helm_release({"metadata": {"namespace": "apps", "name": "podinfo"}, "spec": {}})
    subject = subjects.subject_for(_checked(release, _http_source()))
    assert subject is not None
    return subject


async def test_the_assessment_compares_both_charts() -> None:
    result = await _assessor("ok").assess(_subject(), proposals.upgrade_proposal({}).spec)
    assert (result.level, result.cluster_version) == ("Medium", "v1.31.0")  # 6.5.0 -> 7.0.0, deprecated
    assert [f.type for f in result.findings] == ["Deprecated", "MajorVersion"]


async def test_every_failure_is_unknown_with_a_reason() -> None:
    spec = proposals.ProposalSpec("fleet", "apps", "podinfo", "podinfo", "6.x", "7.x")
    unchecked = await _assessor("ok").assess(None, spec)
    assert (unchecked.level, unchecked.reason) == ("Unknown", "the chart's source was not checked in this cycle")
    failed = await _assessor(charts.ChartFetchError("HTTP 404 fetching https://x/podinfo-7.0.0.tgz")).assess(
        _subject(), spec
    )
    assert (failed.level, failed.reason) == ("Unknown", "HTTP 404 fetching https://x/podinfo-7.0.0.tgz")
    slow = await _assessor("slow", timeout=0.05).assess(_subject(), spec)
    assert (slow.level, slow.reason) == ("Unknown", "the analysis took longer than 0.05s")
