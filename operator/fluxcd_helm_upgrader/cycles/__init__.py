"""The check cycle: from the cluster view to decisions, proposals and the config's status."""
