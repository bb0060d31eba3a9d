"""A Kubernetes API emulator on aiohttp, for the e2e tests and the offline `demo` command.

Public API: `ApiEmulator` (start/stop, CRDs, kubeconfig, in-process helpers, audit),
`AuditEntry`, `builtin_flux_crds()` and `project_crds(root)`. See `server` for the entry point and
the sibling modules for each concern.
"""

from fluxcd_helm_upgrader.testkit.emulator.flux_crds import builtin_flux_crds, project_crds
from fluxcd_helm_upgrader.testkit.emulator.server import ApiEmulator, AuditEntry

__all__ = ["ApiEmulator", "AuditEntry", "builtin_flux_crds", "project_crds"]
