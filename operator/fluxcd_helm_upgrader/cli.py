"""The `fluxcd-helm-upgrader` command: `run` (the operator), `demo` (offline end-to-end) and `scan`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

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
    scan.add_argument("-o", "--output", choices=("table", "json"), default="table")
    scan.add_argument("--exit-code", action="store_true", help="exit 1 when a release is outdated")
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
        from fluxcd_helm_upgrader import scanning

        return asyncio.run(
            scanning.main(
                namespaces=args.namespace,
                include_prerelease=args.include_prerelease,
                allowed_updates=args.allowed_updates,
                output=args.output,
                exit_code=args.exit_code,
                out=sys.stdout,
            )
        )
    if args.command == "demo":
        logs.configure(verbose=args.verbose, json_logs=args.json_logs)
        from fluxcd_helm_upgrader.demo import running

        return asyncio.run(
            running.main(workdir=args.workdir, timeout=args.timeout, out=sys.stdout, serve=args.serve)
        )
    return 2


if __name__ == "__main__":
    sys.exit(main())
