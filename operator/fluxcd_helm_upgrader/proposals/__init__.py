"""UpgradeProposals after the cycle made them: the serialized Git worker and what it needs.

* Vocabulary (pure): `naming` (names and labels), `phases` (status bodies per phase), `ownership` (whose proposal
  it is), `targets` (the `EditPlan`: which object and field the worker edits).
* Storage: `store` (UpgradeProposals through the Kubernetes API).
* The worker: `worker` (one serialized queue per Git repository) runs `processing` for each batch of `Job`s, which
  picks one action by phase: `publishing` (`changes` makes the edit; branch, commit, push, PR; `joining` when another
  cluster's branch already holds the edit; `risking` assesses the upgrade risk first; `checkouts` gives a batch one
  fetch and one manifest index) or `following` (Merged, Closed, Applied); `failures` maps every error to a
  `JobError` and the Failed status; `access` builds the job's Git credentials and forge from Secrets.
* Before the worker: `flood` (pullRequests.maxOpen / maxPerHour: which proposals open a PR this cycle, which wait).
"""
