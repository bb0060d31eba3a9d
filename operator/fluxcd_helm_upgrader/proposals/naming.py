"""Stable UpgradeProposal names, labels and branch names. Pure.

One proposal per (UpgraderConfig, HelmRelease). Its name is `<release-namespace>.<release-name>`: namespaces
cannot contain dots, so the name is unique and readable in `kubectl get upgradeproposals`. Names over the
253-character limit are cut and suffixed with a hash of the full key.

A proposal's Git branch is named after the edit, not the release (`edit_branch`), because Git and the forge are
the only state several clusters (one operator each) share: `<prefix><directory of the edited file>/<object>-<hash>`,
e.g. `helm-upgrader/apps/production/podinfo-c7a795ce`. `<object>` is the name of the object whose line is edited
(the HelmRelease, or the OCIRepository/HelmChart of a `chartRef`), `<hash>` the first 8 hex digits of the SHA-256
of the file path, the document's index in the file and the key path of the edited scalar. So two proposals that
edit the same line of the same file (two clusters using one base) compute the same branch and share one PR, and
two that edit different files or lines (two overlays) never do. Every path component is made a valid Git ref
component (characters Git refuses become `-`, no leading `.`, no `.lock` ending), and the readable part is cut
so the whole name stays within `MAX_BRANCH` characters; the hash is always kept.

`branch_name` is the scheme from before branches were named after the edit (`<prefix><namespace>/<release>`):
proposals that recorded such a branch in `status.pullRequest.branch` keep it until their PR closes
(`proposals.following.branch_of`), and a proposal that recorded no branch at all is followed there.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Sequence

CONFIG_LABEL = "helmupgrader.io/config"
MAX_NAME = 253
MAX_BRANCH = 200  # characters of the whole branch name; Git allows more, forges and humans prefer fewer
_REF_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


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


def edit_branch(prefix: str, path: str, name: str, doc_index: int, key_path: Sequence[str | int]) -> str:
    """The branch of an edit: `<prefix><directory of path>/<name>-<hash of path, document, key path>`."""
    identity = "\0".join([path, str(doc_index), *(str(k) for k in key_path)])
    digest = hashlib.sha256(identity.encode()).hexdigest()[:8]
    directory = posixpath.dirname(path.strip("/"))
    parts = [_ref_component(p) for p in directory.split("/") if p not in ("", ".")]
    parts.append(f"{_ref_component(name)}-{digest}")
    readable = "/".join(parts)
    room = MAX_BRANCH - len(prefix)
    if len(readable) > room:
        keep = readable[: max(room - len(digest) - 1, 0)].rstrip("/.-")
        readable = f"{keep}-{digest}" if keep else digest
        readable = "/".join(_ref_component(p) for p in readable.split("/") if p)
    return f"{prefix}{readable}"


def _ref_component(text: str) -> str:
    """`text` as one component of a Git ref: only [A-Za-z0-9._-], no leading `.` or `-`, no `.lock`/`.` ending."""
    cleaned = _REF_UNSAFE.sub("-", text).replace("..", "-").lstrip(".-")
    while cleaned.endswith((".lock", ".")):
        cleaned = cleaned.removesuffix(".lock").rstrip(".")
    return cleaned or "x"
