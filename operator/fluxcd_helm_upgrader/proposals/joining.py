"""Join a branch another cluster already pushed for the same edit, or update it, never drop a newer edit.

Called by `proposals.publishing` once the change is prepared and its branch named (`naming.edit_branch`), before
anything is pushed. Several clusters (one operator each) share one repository; the branch name is the identity of
an edit, so the branch may already exist, pushed by another cluster (or by this one, for an earlier target). What
the branch holds, as the last fetch saw it, decides (`decide`, pure over the file contents):

* absent, or holding an older value on that line (or anything not a newer version): PUSH ours (force-with-lease on
  the tip we saw, so a push that happened since is never overwritten: the worker fetches and decides again);
* holding exactly our files: JOIN (no push; the PR, if any, is adopted and followed like our own);
* holding a newer version on that line: `failures.JobError` NewerTargetOnBranch, nothing pushed. The proposal
  stays Failed (retried each cycle, one event) until this cluster's check allows that version too, or the PR
  closes.
"""

from __future__ import annotations

import enum

from fluxcd_helm_upgrader.checking import versions
from fluxcd_helm_upgrader.gitops import repos, scalars
from fluxcd_helm_upgrader.proposals import changes, failures
from fluxcd_helm_upgrader.status import reasons


class Decision(enum.Enum):
    """What to do with a prepared change, given what its branch holds."""

    PUSH = "push"  # the branch is absent or older: push ours
    JOIN = "join"  # the branch holds exactly this change: push nothing


async def on_branch(
    workspace: repos.Workspace, repo: repos.PreparedRepo, branch: str, change: changes.Change, target: str
) -> Decision:
    """Read the change's files on the remote branch (as fetched) and decide."""
    theirs = {path: await failures.git_call(workspace.read_branch_file(repo, branch, path)) for path in change.files}
    return decide(branch, change, theirs, target)


def decide(branch: str, change: changes.Change, theirs: dict[str, bytes | None], target: str) -> Decision:
    """JOIN when the branch holds our files; PUSH when absent or older; JobError when it holds a newer version."""
    if all(content is None for content in theirs.values()):
        return Decision.PUSH
    if theirs == change.files:
        return Decision.JOIN
    location = change.location
    data = theirs.get(location.path)
    if data is None:
        return Decision.PUSH
    try:
        text = scalars.decode(data)
        value = scalars.find_scalar(text, location.doc_index, location.key_path, location.embedded).value
    except (scalars.EditError, ValueError):
        return Decision.PUSH  # that line is not there as we know it: ours replaces the branch
    found, wanted = versions.parse(value), versions.parse(target)
    if found is not None and wanted is not None and versions.sort_key(found) > versions.sort_key(wanted):
        raise failures.JobError(
            reasons.NEWER_TARGET_ON_BRANCH,
            f"branch {branch} already sets {location.path}:{location.line} to {value}, newer than {target} "
            "(another cluster asked for it); not overwritten",
        )
    return Decision.PUSH
