"""Thin Kopf handlers, the operator's table of contents. Importing this package registers them all."""

from fluxcd_helm_upgrader.handlers import configs, flux, lifecycle

__all__ = ["configs", "flux", "lifecycle"]
