"""Turn an edit plan into new file contents: locate each field in the checkout, splice the new values in.

Called by `proposals.publishing` for a Pending or Failed proposal, after the clone was prepared. One plan edits one
field (a HelmRelease's, an OCIRepository's or a HelmChart's version, tag or range) and, for an OCIRepository that
pins a digest, also its `spec.ref.digest`. Edits that land in the same file are applied together by
`gitops.editing.edit_scalars` (atomic, verified by re-parsing); if kustomize puts the tag and the digest in two
files, both files go into the same commit. Errors are `ChangeError`s carrying a status reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from fluxcd_helm_upgrader.gitops import editing, locating, manifests
from fluxcd_helm_upgrader.proposals import targets
from fluxcd_helm_upgrader.status import reasons

Read = Callable[[str], Awaitable[bytes]]


class ChangeError(Exception):
    """The edit cannot be made; `reason` is a status reason, the message says what to fix."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Change:
    """New contents by path, and where the main value lives (for the proposal's status.manifest)."""

    files: dict[str, bytes]
    location: locating.Location
    digest_location: locating.Location | None = None


@dataclass(frozen=True)
class Where:
    """Where to look: the checkout, and what the cluster says about the object's origin."""

    root: Path
    kustomization_path: str | None
    search_path: str
    flux_kustomization: tuple[str, str] | None
    files: manifests.Files = manifests.DIRECT  # the batch's `gitops.index.ManifestIndex`: each file read once


async def prepare(plan: targets.EditPlan, where: Where, read: Read) -> Change:
    """Locate and edit; the returned files differ from the base only in the planned values.

    Scanning a large checkout and re-parsing YAML is CPU work: it runs in a thread, never on the event loop."""
    main = await asyncio.to_thread(_locate, plan, plan.field, plan.current, where)
    edits: dict[str, list[editing.ScalarEdit]] = {main.path: [main.edit(plan.target)]}
    digest_location = None
    if plan.digest is not None:
        digest_location = await asyncio.to_thread(_locate, plan, targets.OCI_DIGEST, plan.digest.current, where)
        edits.setdefault(digest_location.path, []).append(digest_location.edit(plan.digest.target))
    files: dict[str, bytes] = {}
    for path, file_edits in edits.items():
        data = await read(path)
        try:
            files[path] = await asyncio.to_thread(editing.edit_scalars, data, file_edits)
        except editing.EditError as error:
            raise ChangeError(reasons.MANIFEST_NOT_FOUND, f"cannot edit {path}: {error}") from None
    return Change(files, main, digest_location)


def _locate(plan: targets.EditPlan, field: str, current: str | None, where: Where) -> locating.Location:
    try:
        target = locating.Target(kind=plan.kind, name=plan.name, namespace=plan.namespace, field=field, current=current)
    except ValueError:
        raise ChangeError(
            reasons.MANIFEST_NOT_FOUND, f"editing {plan.kind} {field} is not supported by the Git locator"
        ) from None
    try:
        return locating.locate(
            where.root,
            target,
            kustomization_path=where.kustomization_path,
            search_path=where.search_path,
            flux_kustomization=where.flux_kustomization,
            files=where.files,
        )
    except locating.Ambiguous as error:
        raise ChangeError(reasons.MANIFEST_AMBIGUOUS, str(error)) from None
    except locating.LocateError as error:
        raise ChangeError(reasons.MANIFEST_NOT_FOUND, str(error)) from None
