"""Typed shapes of Kubernetes bodies and shared API constants."""
