"""The `fluxcd-helm-upgrader` command: `run` (the operator), `demo` (offline end-to-end) and `scan`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import Any

from fluxcd_helm_upgrader import __version__, logs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fluxcd-helm-upgrader",
        description="Propose Helm chart upgrades for Flux HelmReleases as one-line GitOps pull requests.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the operator against the cluster in $KUBECONFIG or in-cluster")
    scope = run.add_mutually_exclusive_group()
    scope.add_argument("-A", "--all-namespaces", action="store_true", help="watch every namespace (default)")
    scope.add_argument(
        "-n",
        "--namespace",
        action="append",
        default=[],
        metavar="NS",
        help="watch only this namespace (repeat for several; needs only namespaced RBAC)",
    )
    run.add_argument(
        "--liveness",
        default="http://0.0.0.0:8080/healthz",
        help="Kopf liveness endpoint URL, or '' to disable (default: %(default)s)",
    )
    _logging_flags(run)

    scan = commands.add_parser("scan", help="print which HelmReleases are outdated (read-only, no UpgraderConfig)")
    scan_scope = scan.add_mutually_exclusive_group()
    scan_scope.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace (default)")
    scan_scope.add_argument("-n", "--namespace", action="append", default=[], metavar="NS", help="only this namespace")
    scan.add_argument("--include-prerelease", action="store_true", help="consider prerelease versions")
    scan.add_argument("--allowed-updates", choices=("major", "minor", "patch"), default="major")
    scan.add_argument("--minimum-release-age", default="", metavar="AGE",
                      help="hold back versions younger than this (3d, 72h), as policy.minimumReleaseAge")  # fmt: skip
    scan.add_argument("-o", "--output", choices=("table", "json"), default="table")
    scan.add_argument("--exit-code", action="store_true", help="exit 1 when a release is outdated")
    checkout = scan.add_argument_group("checkout scan (no cluster, no kubeconfig)")
    checkout.add_argument("--path", action="append", default=[], metavar="DIR",
                          help="build DIR as kustomize-controller would and scan its HelmReleases (repeatable)")
    checkout.add_argument("--sources", action="append", default=[], metavar="DIR",
                          help="also read chart sources (HelmRepository, OCIRepository, HelmChart) from DIR")
    checkout.add_argument("--risk", action="store_true", help="add the upgrade risk of each outdated release")
    checkout.add_argument("--kube-version", default=None, metavar="V",
                          help="the cluster version kubeVersion is checked against with --risk (e.g. v1.30.2)")
    checkout.add_argument("--write", action="store_true", help="apply the one-line version edits in place")
    _logging_flags(scan)

    demo = commands.add_parser("demo", help="run the whole flow offline: emulated cluster, charts and Git")
    demo.add_argument("--workdir", default=None, help="keep the demo's Git repositories here (default: a temp dir)")
    demo.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for proposals")
    demo.add_argument(
        "--serve",
        action="store_true",
        help="keep the demo cluster, chart repository, Git remote and operator running until Ctrl-C, "
        "and print how to use them with kubectl",
    )
    _logging_flags(demo)
    return parser


def _logging_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--json-logs", action="store_true", help="one JSON object per log line")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        logs.configure(verbose=args.verbose, json_logs=args.json_logs)
        from fluxcd_helm_upgrader import operating

        asyncio.run(operating.operate(namespaces=args.namespace, liveness=args.liveness or None))
        return 0
    if args.command == "scan":
        logs.configure(verbose=args.verbose, json_logs=args.json_logs)
        if args.path:
            return _scan_checkout(args)
        if args.sources or args.risk or args.write or args.kube_version:
            print("error: --sources, --risk, --kube-version and --write need --path DIR", file=sys.stderr)
            return 2
        from fluxcd_helm_upgrader import scanning

        return asyncio.run(scanning.main(**_scan_flags(args)))
    if args.command == "demo":
        logs.configure(verbose=args.verbose, json_logs=args.json_logs)
        from fluxcd_helm_upgrader.testkit.demo import running

        return asyncio.run(
            running.main(workdir=args.workdir, timeout=args.timeout, out=sys.stdout, serve=args.serve)
        )
    return 2


def _scan_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The flags both scans share (the cluster's and the checkout's)."""
    return {
        "namespaces": args.namespace,
        "include_prerelease": args.include_prerelease,
        "allowed_updates": args.allowed_updates,
        "minimum_release_age": args.minimum_release_age,
        "output": args.output,
        "exit_code": args.exit_code,
        "out": sys.stdout,
    }


def _scan_checkout(args: argparse.Namespace) -> int:
    from fluxcd_helm_upgrader import repository_scanning

    checkout = {"paths": args.path, "sources": args.sources, "risk": args.risk, "write": args.write,
                "kube_version": args.kube_version}  # fmt: skip
    return asyncio.run(repository_scanning.main(**_scan_flags(args), **checkout))


if __name__ == "__main__":
    sys.exit(main())
