"""`demo --serve`: keep the demo's emulator, chart repository, Git remote and operator running for the user.

Called by `demo.running.main` once the demo has printed its results. Prints the `export KUBECONFIG=...` line and
commands to try with the real kubectl: list the proposals, describe one, and publish a new chart version the way a
Helm repository is built from a directory of archives (`touch <charts dir>/podinfo-6.8.0.tgz`; see
`demo.charts.ChartRepo.publish_to`) followed by the Flux-style `reconcile.fluxcd.io/requestedAt` annotation that
makes the operator check at once; the proposal's target and branch then move. While serving it prints one line per
proposal change (target, phase, branch). Ctrl-C or SIGTERM ends it: the caller then stops the operator and the
servers and removes the temporary directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from fluxcd_helm_upgrader.testkit.demo import cluster, fleet

POLL_SECONDS = 0.5
EXACT = re.compile(r"^v?\d+\.\d+\.\d+$")
NAMESPACE = fleet.FLUX_NAMESPACE


def _next_version(versions: list[str]) -> str:
    """The next minor version after the newest stable one (`6.7.1` -> `6.8.0`)."""
    stable = [v for v in versions if "-" not in v and v.count(".") == 2 and v.replace(".", "").isdigit()]
    major, minor, _ = max((tuple(int(p) for p in v.split(".")) for v in stable), default=(0, 0, 0))
    return f"{major}.{minor + 1}.0"


def instructions(base: Path, git_url: str, proposals: list[dict[str, Any]], config: str) -> str:
    """What the user can type in another terminal while the demo serves."""
    kubeconfig = base / "kubeconfig"
    # A pinned release (not a range such as 17.x, which a new patch would not move) whose branch was pushed.
    pinned = [p for p in proposals if EXACT.match(str((p.get("spec") or {}).get("currentVersion", "")))]
    pushed = [p for p in pinned + proposals if (p.get("status") or {}).get("pullRequest")]
    chosen = next(iter(pushed + proposals), {})
    name = (chosen.get("metadata") or {}).get("name", "<name>")
    chart = (chosen.get("spec") or {}).get("chart", "podinfo")
    branch = ((chosen.get("status") or {}).get("pullRequest") or {}).get("branch", "")
    charts_dir = base / "charts"
    published = sorted(p.name.removeprefix(f"{chart}-").removesuffix(".tgz") for p in charts_dir.glob(f"{chart}-*.tgz"))
    version = _next_version(published)
    git_dir = git_url.removeprefix("file://")
    return "\n".join(
        [
            "The demo cluster keeps running until Ctrl-C. In another terminal:",
            "",
            f"export KUBECONFIG={kubeconfig}",
            "kubectl get upgradeproposals -A",
            f"kubectl describe upgradeproposal -n {NAMESPACE} {name}",
            "",
            f"Publish {chart} {version} in the demo chart repository, then ask for a check now (the Flux way):",
            "",
            f"touch {charts_dir / f'{chart}-{version}.tgz'}",
            f"kubectl annotate upgraderconfig -n {NAMESPACE} {config} --overwrite "
            'reconcile.fluxcd.io/requestedAt="$(date +%s)"',
            "",
            f"The proposal's target becomes {version} and its branch moves:",
            "",
            "kubectl get upgradeproposals -A",
            f"git --git-dir={git_dir} log --oneline -1 {branch}" if branch else f"git --git-dir={git_dir} branch",
            "",
        ]
    )


def _stale(proposal: dict[str, Any]) -> bool:
    """A status written for an older spec (a new target is in the spec, its Pending status not yet written)."""
    observed = (proposal.get("status") or {}).get("observedGeneration")
    return observed is not None and observed != (proposal.get("metadata") or {}).get("generation")


def _summary(proposal: dict[str, Any]) -> tuple[str, str, str]:
    spec, status = proposal.get("spec") or {}, proposal.get("status") or {}
    branch = (status.get("pullRequest") or {}).get("branch") or ""
    return str(spec.get("targetVersion") or ""), str(status.get("phase") or ""), str(branch)


@contextlib.contextmanager
def _stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    """Ctrl-C and SIGTERM end the serving (they replace Kopf's handlers, which only stop the operator)."""
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    try:
        yield
    finally:
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(number)


async def serve(
    local: cluster.LocalCluster,
    base: Path,
    git_url: str,
    proposals: list[dict[str, Any]],
    out: TextIO,
    *,
    config: str = "demo",
    stop: asyncio.Event | None = None,
) -> None:
    """Print the instructions, then report proposal changes until a signal (or `stop`) ends the demo."""
    stop = stop or asyncio.Event()
    print(instructions(base, git_url, proposals, config), file=out, flush=True)
    seen = {p["metadata"]["name"]: _summary(p) for p in proposals}
    with _stop_on_signals(stop):
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), POLL_SECONDS)
            for proposal in local.list("upgradeproposals", NAMESPACE):
                name, now = proposal["metadata"]["name"], _summary(proposal)
                if seen.get(name) != now and not _stale(proposal):
                    seen[name] = now
                    target, phase, branch = now
                    clock = datetime.datetime.now().strftime("%H:%M:%S")
                    line = f"[{clock}] upgradeproposal {NAMESPACE}/{name}: target {target}, {phase}"
                    print(line + (f" (branch {branch})" if branch else ""), file=out, flush=True)
    print("Stopping the demo: operator, emulator, chart and Git servers; removing its files.", file=out, flush=True)
