"""Stable UpgradeProposal names and labels. Pure.

One proposal per (UpgraderConfig, HelmRelease). Its name is `<release-namespace>.<release-name>`: namespaces
cannot contain dots, so the name is unique and readable in `kubectl get upgradeproposals`. Names over the
253-character limit are cut and suffixed with a hash of the full key.
"""

from __future__ import annotations

import hashlib

CONFIG_LABEL = "helmupgrader.io/config"
MAX_NAME = 253


def proposal_name(release_namespace: str, release_name: str) -> str:
    """The proposal's metadata.name for a release."""
    name = f"{release_namespace}.{release_name}"
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:10]
    return f"{name[: MAX_NAME - 11].rstrip('.-')}-{digest}"


def branch_name(prefix: str, release_namespace: str, release_name: str) -> str:
    """The Git branch of a release's proposal: `<prefix><namespace>/<release>`."""
    return f"{prefix}{release_namespace}/{release_name}"
