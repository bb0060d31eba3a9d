"""Benchmark: reading 10 charts from a Bitnami-sized index.yaml, ours vs. a full CSafeLoader parse.

Run by hand or in CI: ``python benchmarks/index_read.py``. It writes a ~26 MB index shaped like
Bitnami's (150 charts x 250 versions, the real field set) into a temporary file, then measures, each
in a fresh subprocess so that peak RSS is separate:

- ``read_charts(data, 10 names)`` (fluxcd_helm_upgrader.checking.indexes), and
- ``yaml.load(data, Loader=yaml.CSafeLoader)`` of the whole file.

It prints time and peak RSS (``ru_maxrss`` of each child) and the speed ratio, and exits 1 when
our reader is not at least 20x faster or its process peaks above 100 MiB.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CHARTS = 150
VERSIONS = 250
TARGET_RATIO = 20.0
TARGET_RSS_MIB = 100.0
WANTED = [f"chart-{i:03d}" for i in range(0, CHARTS, CHARTS // 10)][:10]

_ENTRY = """\
  - annotations:
      category: Database
      licenses: Apache-2.0
    apiVersion: v2
    appVersion: {app}
    created: "2023-02-{day:02d}T15:43:17.572792103Z"
    dependencies:
    - name: redis
      repository: https://charts.bitnami.com/bitnami
      version: 17.x.x
    description: A benchmark chart.
    digest: {digest}
    home: https://bitnami.com
    icon: https://bitnami.com/{name}.png
    keywords:
    - {name}
    - database
    maintainers:
    - name: VMware, Inc.
    name: {name}
    sources:
    - https://github.com/bitnami/charts
    urls:
    - https://charts.bitnami.com/bitnami/{name}-{version}.tgz
    version: {version}
"""


def generate(path: Path) -> int:
    """Write the synthetic index; return its size in bytes."""
    with path.open("w", encoding="utf-8") as out:
        out.write("apiVersion: v1\nentries:\n")
        for c in range(CHARTS):
            name = f"chart-{c:03d}"
            out.write(f"  {name}:\n")
            for v in range(VERSIONS, 0, -1):
                version = f"{v // 50}.{(v // 10) % 5}.{v % 10}"
                out.write(
                    _ENTRY.format(
                        name=name, version=version, app=f"2.{v}.1", n=v % 90, day=1 + v % 28, digest=f"{c:04d}{v:060d}"
                    )
                )
        out.write('generated: "2023-02-18T15:13:14.270249007Z"\n')
    return path.stat().st_size


def child(mode: str, path: str) -> None:
    """Runs in the subprocess: one measurement, printed as JSON."""
    sys.path.insert(0, str(REPO_ROOT / "operator"))
    import yaml

    from fluxcd_helm_upgrader.checking import indexes

    data = Path(path).read_bytes()
    started = time.perf_counter()
    if mode == "ours":
        result = indexes.read_charts(data, WANTED)
        found = sum(len(v) for v in result.charts.values())
        extra = {"fast_path": result.used_fast_path}
    else:
        document = yaml.load(data, Loader=yaml.CSafeLoader)
        found = sum(len(document["entries"][name]) for name in WANTED)
        extra = {}
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"seconds": seconds, "peak_mib": peak_kib / 1024, "versions": found, **extra}))


def measure(mode: str, path: Path) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, float] = json.loads(output)
    return result


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "index.yaml"
        size = generate(path)
        print(f"index: {size / 1e6:.1f} MB, {CHARTS} charts x {VERSIONS} versions; reading {len(WANTED)} charts")
        ours = measure("ours", path)
        full = measure("full", path)
    ratio = full["seconds"] / ours["seconds"]
    print(
        f"read_charts (ours):       {ours['seconds']:8.3f} s  peak RSS {ours['peak_mib']:7.1f} MiB"
        f"  versions {int(ours['versions'])}  fast path {bool(ours.get('fast_path'))}"
    )
    print(
        f"yaml.load CSafeLoader:    {full['seconds']:8.3f} s  peak RSS {full['peak_mib']:7.1f} MiB"
        f"  versions {int(full['versions'])}"
    )
    print(
        f"speed ratio: {ratio:.1f}x (target >= {TARGET_RATIO:.0f}x); "
        f"our peak RSS {ours['peak_mib']:.1f} MiB (target <= {TARGET_RSS_MIB:.0f} MiB)"
    )
    failed = []
    if ratio < TARGET_RATIO:
        failed.append("speed ratio")
    if ours["peak_mib"] > TARGET_RSS_MIB:
        failed.append("peak RSS")
    if ours["versions"] != full["versions"]:
        failed.append("version counts differ")
    print("FAILED: " + ", ".join(failed) if failed else "OK: all targets met")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
        sys.exit(0)
    os.chdir(REPO_ROOT)
    sys.exit(main())
