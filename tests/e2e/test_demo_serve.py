"""`fluxcd-helm-upgrader demo --serve` as a user runs it: a process that keeps the demo cluster up, prints
`export KUBECONFIG=...` and commands that work with the real kubectl (including publishing a new chart version
that moves the proposal's branch), and exits 0 on SIGTERM, removing its files.

Needs kubectl (skips without it, fails under CI=true).
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import peers

pytestmark = pytest.mark.e2e


class Demo:
    """The demo process and its stdout, read line by line on a thread (so waits can time out)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for_line(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines:
                if found := re.search(pattern, line):
                    return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no line matching {pattern!r} in {timeout}s:\n" + "\n".join(self.lines))
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"the demo exited ({self.process.wait()}):\n" + "\n".join(self.lines))
            self.lines.append(line)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    env = {**os.environ, "TMPDIR": str(tmp_path), "HOME": str(tmp_path)}  # its files, and kubectl's cache, here
    env.pop("KUBECONFIG", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "fluxcd_helm_upgrader", "demo", "--serve", "--timeout", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        yield Demo(process)
    finally:
        if process.poll() is None:
            process.kill()  # only when the test failed before its own SIGTERM
            process.wait(10)


def _run(command: str, kubeconfig: str, timeout: float = 60) -> str:
    """One of the printed commands, run by bash as the user would paste it (with KUBECONFIG exported)."""
    result = subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "KUBECONFIG": kubeconfig},
        check=False,
    )
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_demo_serve_answers_kubectl_moves_the_branch_and_cleans_up(demo: Demo, tmp_path: Path) -> None:
    peers.require_binary("kubectl", package="kubectl")
    kubeconfig = demo.wait_for_line(r"^export KUBECONFIG=(\S+)$", timeout=120)[1]
    printed = "\n".join(demo.lines)
    assert "(kubectl is not installed" not in printed  # the tables above came from the real kubectl
    row = r"flux-system\s+apps\.podinfo\s+apps\s+podinfo\s+podinfo\s+6\.5\.0\s+6\.7\.1\s+Low\s+Open"
    assert re.search(row, printed)
    workdir = Path(kubeconfig).parent
    assert workdir.parent == tmp_path and workdir.name.startswith("upgrader-demo-")

    describe = demo.wait_for_line(r"^kubectl describe upgradeproposal .*", 10)[0]
    touch = demo.wait_for_line(r"^touch .*\.tgz$", 10)[0]
    annotate = demo.wait_for_line(r"^kubectl annotate upgraderconfig .*requestedAt.*", 10)[0]
    log = demo.wait_for_line(r"^git --git-dir=\S+ log --oneline -1 \S+$", 10)[0]
    version = re.search(r"podinfo-(\S+)\.tgz$", touch)[1]  # type: ignore[index]

    listed = _run("kubectl get upgradeproposals -A", kubeconfig)
    assert re.search(r"CURRENT\s+TARGET\s+RISK\s+PHASE", listed)
    assert re.search(r"6\.5\.0\s+6\.7\.1\s+Low\s+Open", listed)
    assert "Events:" in _run(describe, kubeconfig) and "BranchPushed" in _run(describe, kubeconfig)

    _run(touch, kubeconfig)
    _run(annotate, kubeconfig)
    demo.wait_for_line(rf"apps\.podinfo: target {re.escape(version)}, Open", timeout=60)
    # An empty archive made with `touch` is not a chart: the risk is Unknown (it never holds the branch back).
    listed = _run("kubectl get upgradeproposals -A", kubeconfig)
    assert re.search(rf"6\.5\.0\s+{re.escape(version)}\s+Unknown\s+Open", listed)
    assert f"Update podinfo to {version}" in _run(log, kubeconfig)

    demo.process.send_signal(signal.SIGTERM)
    assert demo.process.wait(timeout=60) == 0
    assert not workdir.exists()


def test_demo_without_kubectl_prints_the_same_table_and_says_so(tmp_path: Path) -> None:
    """No kubectl on PATH: the demo prints the server's table itself, says so, and still succeeds."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    git = peers.require_binary("git", package="git")
    (bin_dir / "git").symlink_to(git)
    env = {**os.environ, "PATH": str(bin_dir), "TMPDIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "fluxcd_helm_upgrader", "demo", "--timeout", "60"],
        capture_output=True, text=True, env=env, timeout=180, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    section = result.stdout.partition("$ kubectl get upgradeproposals -A\n")[2]
    assert section.startswith("(kubectl is not installed: the demo prints the server's table the way kubectl would)")
    header = r"NAMESPACE\s+NAME\s+RELEASE NAMESPACE\s+RELEASE\s+CHART\s+CURRENT\s+TARGET\s+RISK\s+PHASE\s+PR\s+AGE"
    assert re.search(header, section)
    assert re.search(r"apps\.podinfo\s+apps\s+podinfo\s+podinfo\s+6\.5\.0\s+6\.7\.1\s+Low\s+Open", section)
    assert "+      version: 6.7.1" in result.stdout  # the pushed branch's diff
