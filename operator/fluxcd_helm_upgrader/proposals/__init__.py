"""UpgradeProposal lifecycle: naming, storage through the API, and the serialized Git
worker (`worker`), whose job (`processing`) runs one action per phase: `publishing` (branch, commit, push, PR),
`following` (Merged, Closed, Applied), with `failures` mapping every error to the proposal's status."""
