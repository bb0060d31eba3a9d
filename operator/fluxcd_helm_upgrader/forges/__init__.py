"""forges package."""
