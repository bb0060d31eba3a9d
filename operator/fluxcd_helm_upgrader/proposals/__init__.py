"""UpgradeProposal lifecycle: naming, storage through the API, and the serialized Git/PR worker."""
