"""The pure core: bytes and plain values in, frozen values out. No I/O, no Kopf, Kubernetes, HTTP, Git or GitHub
(an import-linter contract in pyproject). Most unit tests live here, table-driven.

* Versions and ranges as Helm and Flux read them: `versions` (Masterminds semver v3.5.0), `ranges` (constraints and
  rewriting a range in its own style), `oci_tags` (tags as versions).
* Reading sources: `safe_yaml` (the bounded loader for every YAML read), `indexes` and `index_scanning` (Helm
  `index.yaml`: chart versions and their `artifacthub.io/changes` changelog), `chart_archive` (a packaged chart).
* Deciding: `policy` (spec.policy as values), `decisions` (the per-release `Decision` and its `Verdict`),
  `release_age` (policy.minimumReleaseAge), `scope` (which releases a config covers), `tenancy` (Flux's lockdown
  rules), `scheduling` (when a cycle is due), `durations` (Go durations).
* The upgrade risk: `risk`, `helm_values`, `crd_changes`; `applying` (does the cluster run the target yet).
"""
