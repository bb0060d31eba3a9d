"""proposals package."""
