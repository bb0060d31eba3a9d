"""What the upgrade risk of an outdated release compares: which two chart versions, from where. Pure.

Called by `cycles.jobs` for each proposal whose release was checked in this cycle; the `proposals.risking.Subject`
travels in the worker's `Job`. The "from" chart is the one the cluster runs (the HelmRelease's deployed chart
version) when the source still lists it, else what Git's value resolves to (an exact version, or the newest version
a range admits); the "to" chart is the decision's newest version. HTTP charts are found by their index entries
(their `urls` and `digest`); OCI charts by the tag that carries the version (Helm writes "+" as "_").
"""

from __future__ import annotations

from collections.abc import Sequence

from fluxcd_helm_upgrader.checking import indexes, oci_tags, risk, versions
from fluxcd_helm_upgrader.cycles.resolving import HttpChart
from fluxcd_helm_upgrader.cycles.running import Checked
from fluxcd_helm_upgrader.proposals import risking
from fluxcd_helm_upgrader.sources import charts
from fluxcd_helm_upgrader.structs import accounts


def subject_for(checked: Checked, account: accounts.ServiceAccount | None = None) -> risking.Subject | None:
    """The comparison for an outdated release, or None when the decision names no two versions; the charts' Secrets
    are read as `account` (the config's)."""
    decision, release = checked.decision, checked.release
    to_version = decision.newest
    from_version = decision.current_resolved
    if release.deployed_version and _entry(checked.versions, release.deployed_version) is not None:
        from_version = release.deployed_version
    if not to_version or not from_version:
        return None
    source = checked.source
    current: charts.ChartRef | None
    target: charts.ChartRef | None
    if isinstance(source, HttpChart):
        old, new = _entry(checked.versions, from_version), _entry(checked.versions, to_version)
        current = charts.HttpChartRef(source.repository, old) if old else None
        target = charts.HttpChartRef(source.repository, new) if new else None
    else:
        current = charts.OciChartRef(source.ref, oci_tags.version_to_tag(from_version), source.secret)
        target = charts.OciChartRef(source.ref, oci_tags.version_to_tag(to_version), source.secret)
    newest = _entry(checked.versions, to_version)
    return risking.Subject(
        chart=source.chart,
        from_version=from_version,
        to_version=to_version,
        current=current,
        target=target,
        release=risk.Release(release.values, release.upgrade_crds, release.values_from),
        deprecated=bool(newest and newest.deprecated),
        account=account,
    )


def _entry(entries: Sequence[indexes.ChartVersion], version: str) -> indexes.ChartVersion | None:
    """The index entry of `version`: the same text first, else the same semver precedence."""
    exact = next((e for e in entries if e.version == version), None)
    if exact is not None:
        return exact
    wanted = versions.parse(version.lstrip("="))
    return next((e for e in entries if wanted is not None and versions.parse(e.version) == wanted), None)
