"""FluxCD Helm Upgrader: proposes Helm chart upgrades for Flux HelmReleases as GitOps pull requests."""

__version__ = "0.1.0"
