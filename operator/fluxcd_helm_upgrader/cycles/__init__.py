"""The check cycle of one UpgraderConfig, from the cluster view to proposals, the config's status and metrics.

`handling.handle` is the entry point (called by `handlers.configs` on a due tick, with `handling.Deps`):

1. `tenancy`: whose identity reads the config's Secrets, and which releases its scope may reach (Flux's lockdown);
   `overlap`: which of two overlapping configs keeps a release.
2. `running.run`: for each release in scope (`view.FluxView`, Kopf's indexes), `resolving` finds the chart source
   and the manifest field that holds its version; each HTTP index is fetched once, `oci_checks` asks each registry
   once; `aging` and `checking.decisions` decide. The result is an `Outcome`: `Checked` releases and `Failed` ones,
   each with a `Failure` (reason and message).
3. `syncing`: the Outcome becomes UpgradeProposals (create, retarget, withdraw; NotOwned, OutOfScope), one event
   per transition.
4. `reporting`: the config's status and its events; `measuring`: the metrics; `jobs` (with `subjects` for the
   upgrade risk): what the Git worker (`proposals.worker`) does next.
"""
