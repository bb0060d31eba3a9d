"""Condition types, condition reasons and event reasons, documented in one place.

Users read these in `kubectl describe` and the README's troubleshooting table is keyed by them. Every reason the
operator writes (a condition's, a failed release's, an event's) is a constant here.
"""

from __future__ import annotations

# Condition types (kstatus, as Flux uses them).
READY = "Ready"
RECONCILING = "Reconciling"
STALLED = "Stalled"

# UpgraderConfig reasons.
SUCCEEDED = "Succeeded"  # the last cycle checked every release in scope
PARTIALLY_CHECKED = "PartiallyChecked"  # some releases could not be checked; see status.failedReleases
INVALID_CONFIG = "InvalidConfig"  # the spec cannot be used; the message names the field to fix
SECRET_NOT_FOUND = "SecretNotFound"  # a referenced Secret or key does not exist
FORBIDDEN = "Forbidden"  # the API server refused a call; the message names the missing permission (also a release
# reason: the config's ServiceAccount may not read the Secret of the release's chart source)
SCOPE_FORBIDDEN = "ScopeForbidden"  # namespaces of the scope the config may not read were skipped (named); the rest ran
SUSPENDED = "Suspended"  # spec.suspend is true: no cycles run
PROGRESSING = "Progressing"  # a cycle is running

# UpgradeProposal reasons.
AWAITING_PUSH = "AwaitingPush"  # Pending: the Git worker has not pushed the branch yet
PULL_REQUEST_OPEN = "PullRequestOpen"
PULL_REQUEST_MERGED = "PullRequestMerged"
PULL_REQUEST_CLOSED = "PullRequestClosed"
UPGRADE_APPLIED = "UpgradeApplied"
MANIFEST_NOT_FOUND = "ManifestNotFound"  # also: a path that resolves outside the checkout (never read)
MANIFEST_AMBIGUOUS = "ManifestAmbiguous"
GIT_FAILED = "GitFailed"
FORGE_FAILED = "ForgeFailed"
NOT_OWNED = "NotOwned"  # not owned by the config (no ownerReference with its uid): never acted on
OUT_OF_SCOPE = "OutOfScope"  # its release is not in the config's scope: never acted on
TARGET_NOT_ALLOWED = "TargetNotAllowed"  # spec.targetVersion is not what the last check allowed: not pushed
# Pending: held back by spec.pullRequests.maxOpen / maxPerHour; the message says how many are ahead of it.
PULL_REQUEST_LIMIT = "PullRequestLimit"
# Someone else committed on the proposal's branch while its PR is open: the branch is not rewritten (one PR comment
# says so) until those commits are gone or the PR is closed.
BRANCH_MODIFIED = "BranchModified"
NEWER_TARGET_ON_BRANCH = "NewerTargetOnBranch"  # another cluster's branch for this line holds a newer version: kept

# Event reasons of the transitions that are not failures (failures post their condition reason; Merged, Closed and
# Applied post PULL_REQUEST_MERGED, PULL_REQUEST_CLOSED and UPGRADE_APPLIED).
PROPOSAL_CREATED = "ProposalCreated"  # on the new proposal (cycles.syncing)
TARGET_UPDATED = "TargetUpdated"  # on the proposal: a newer target, back to Pending (cycles.syncing)
PROPOSAL_WITHDRAWN = "ProposalWithdrawn"  # on the config: its release is current again, nothing was pushed
BRANCH_PUSHED = "BranchPushed"  # provider none: the branch is pushed, no PR (proposals.publishing)
PULL_REQUEST_OPENED = "PullRequestOpened"
PULL_REQUEST_UPDATED = "PullRequestUpdated"  # a newer target pushed to the branch of an open PR
PULL_REQUEST_JOINED = "PullRequestJoined"  # another cluster's PR already carried this very edit (proposals.joining)

# Per-release failure reasons listed in UpgraderConfig status.failedReleases.
SOURCE_NOT_FOUND = "SourceNotFound"
SOURCE_UNSUPPORTED = "SourceUnsupported"
FETCH_FAILED = "FetchFailed"
INDEX_INVALID = "IndexInvalid"
CHART_NOT_FOUND = "ChartNotFound"
AUTH_FAILED = "AuthFailed"
RANGE_UNSUPPORTED = "RangeUnsupported"
INVALID_VERSION = "InvalidVersion"  # the version or range in Git is not one (too long, not semver, not a range)
HTTPS_REQUIRED = "HttpsRequired"  # credentials would go over plain http to a non-loopback host
# The chart source is in another namespace and UPGRADER_NO_CROSS_NAMESPACE_REFS=true: not read (Flux's AccessDenied).
CROSS_NAMESPACE_REF = "CrossNamespaceRef"
SCOPE_OVERLAP = "ScopeOverlap"  # an older UpgraderConfig in this namespace covers the release (also a config reason)
# An unexpected error while checking this one release (resolving, deciding, reading its source); the message names
# the error. The other releases are still checked: this is the per-release boundary of `cycles.running`.
CHECK_FAILED = "CheckFailed"
