"""Whether the cluster now runs a proposal's target. Pure.

A proposal is Applied when the HelmRelease's deployed chart version (status.history[0].chartVersion) equals the
exact target, or, for a range target, is a version the new range admits.
"""

from __future__ import annotations

from fluxcd_helm_upgrader.checking import ranges, versions


def runs_target(deployed: str | None, target: str) -> bool:
    """True when the deployed chart version satisfies the proposal's target value."""
    if not deployed or not target:
        return False
    deployed_version = versions.parse(deployed)
    if deployed_version is None:
        return False
    exact = ranges.exact_version(target)
    if exact is not None:
        return deployed_version == exact
    constraint = ranges.parse_constraint(target)
    return constraint is not None and constraint.allows(deployed_version, include_prerelease=True)
