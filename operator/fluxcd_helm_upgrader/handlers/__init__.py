"""Thin Kopf handlers, the operator's table of contents. Importing this package registers them all.

`lifecycle` (start-up: Kopf's settings and the shared `services.Services`; login; cleanup), `flux` (read-only
indexes over the five Flux kinds), `configs` (the UpgraderConfig timer that runs `cycles.handling.handle`, and
its deletion), `ids` (handler ids as constants).
"""

from fluxcd_helm_upgrader.handlers import configs, flux, lifecycle

__all__ = ["configs", "flux", "lifecycle"]
