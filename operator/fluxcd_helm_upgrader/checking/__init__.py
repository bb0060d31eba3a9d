"""checking package."""
