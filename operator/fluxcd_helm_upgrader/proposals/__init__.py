"""UpgradeProposal lifecycle: naming, storage through the API, syncing a cycle's decisions, and the serialized Git
worker (`worker`), whose job (`processing`) runs one action per phase: `publishing` (branch, commit, push, PR;
`joining` when another cluster's branch already holds the edit),
`following` (Merged, Closed, Applied), with `failures` mapping every error to the proposal's status."""
