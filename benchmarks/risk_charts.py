"""Benchmark: the upgrade risk's chart handling, bounded in memory and read once per digest.

Run by hand: ``python benchmarks/risk_charts.py``. Three measurements, each target checked:

1. Reading a big, realistic chart in memory (kube-prometheus-stack sized: 1 MiB values.yaml, a values schema,
   40 CRDs of ~150 KiB each, 300 templates): time and the Python heap peak (tracemalloc).
2. A gzip bomb (1 GiB of zeros in a ~1 MiB .tgz) refused at the uncompressed cap: time and heap peak, which must
   stay far below the bomb's size.
3. 200 proposals of that chart pair assessed by one `proposals.risking.Assessor` against a local HTTP chart server:
   downloads (must be 2, one per chart: charts are read once per digest) and wall time (each proposal still runs
   its own comparison, since each release has its own values).

Exits 1 when a target is missed.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import sys
import tarfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent.parent / "operator")]

from aiohttp import web  # noqa: E402

from fluxcd_helm_upgrader.checking import chart_archive, indexes, risk  # noqa: E402
from fluxcd_helm_upgrader.proposals import risking  # noqa: E402
from fluxcd_helm_upgrader.sources import charts  # noqa: E402
from fluxcd_helm_upgrader.structs import flux  # noqa: E402
from fluxcd_helm_upgrader.testkit.demo import charts as demo_charts  # noqa: E402

MiB = 1 << 20
TARGET_READ_SECONDS = 10.0
TARGET_READ_PEAK_MIB = 200.0
TARGET_BOMB_PEAK_MIB = 64.0
TARGET_PROPOSALS_SECONDS = 60.0
PROPOSALS = 200


def big_chart(version: str) -> bytes:
    values = "".join(f"component{i}:\n  image: {{repository: r/{i}, tag: '{version}'}}\n  replicas: 1\n"
                     "  resources: {limits: {cpu: 100m, memory: 128Mi}}\n  extra: " + "x" * 200 + "\n"
                     for i in range(3000))  # fmt: skip
    props = "".join(f"              field{i}: {{type: string, description: {'d' * 120}}}\n" for i in range(1000))
    files: dict[str, str | bytes] = {"values.yaml": values, "values.schema.json": '{"type": "object"}'}
    for n in range(40):
        files[f"crds/crd-{n}.yaml"] = (
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
            f"metadata: {{name: things{n}.example.com}}\nspec:\n  versions:\n  - name: v1\n    served: true\n"
            f"    storage: true\n    schema:\n      openAPIV3Schema:\n        properties:\n          spec:\n"
            f"            properties:\n{props}"
        )
    for n in range(300):
        files[f"templates/t{n}.yaml"] = "{{ .Values.component1.image.tag }}\n" * 200
    return demo_charts.package("stack", version, files)


def bomb() -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        info = tarfile.TarInfo("stack/Chart.yaml")
        info.size = 10
        archive.addfile(info, io.BytesIO(b"name: x\n\n\n"))
        zeros = tarfile.TarInfo("stack/templates/zeros.yaml")
        zeros.size = 1 << 30
        archive.addfile(zeros)  # header only: the body is appended compressed below
    header = raw.getvalue()[: -1024]  # without the end-of-archive blocks
    compressor = gzip.compress(header, mtime=0)
    chunk = gzip.compress(b"\0" * (64 * MiB), mtime=0)
    return compressor + chunk * 16  # concatenated gzip members: 1 GiB of zeros


def _run(work: Callable[[], object]) -> object:
    try:
        return work()
    except chart_archive.ChartError as error:
        return error


def measure(what: str, work: Callable[[], object]) -> tuple[float, float, object]:
    """Wall time of one run, then the Python heap peak of a second run under tracemalloc (which slows it down)."""
    started = time.perf_counter()
    result = _run(work)
    seconds = time.perf_counter() - started
    tracemalloc.start()
    _run(work)
    peak = tracemalloc.get_traced_memory()[1] / MiB
    tracemalloc.stop()
    print(f"{what}: {seconds:.2f} s, Python heap peak {peak:.1f} MiB")
    return seconds, peak, result


async def many_proposals(old: bytes, new: bytes) -> tuple[int, float, str]:
    served = {"/stack-1.0.0.tgz": old, "/stack-2.0.0.tgz": new}

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=served[request.path]) if request.path in served else web.Response(status=404)

    app = web.Application()
    app.router.add_get("/{name}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    repo = flux.HelmRepository("flux-system", "stack", url)
    fetcher = charts.ChartFetcher(None)

    async def cluster() -> str:
        return "v1.31.0"

    assessor = risking.Assessor(fetcher, None, cluster)  # type: ignore[arg-type]
    subject = risking.Subject(
        "stack", "1.0.0", "2.0.0",
        charts.HttpChartRef(repo, indexes.ChartVersion("stack", "1.0.0", urls=("stack-1.0.0.tgz",), digest="a")),
        charts.HttpChartRef(repo, indexes.ChartVersion("stack", "2.0.0", urls=("stack-2.0.0.tgz",), digest="b")),
        risk.Release(values={"component1": {"replicas": 3}}),
    )  # fmt: skip
    started = time.perf_counter()
    try:
        results = await asyncio.gather(*(assessor.assess(subject, {}) for _ in range(PROPOSALS)))
    finally:
        await fetcher.close()
        await runner.cleanup()
    return fetcher.downloads, time.perf_counter() - started, results[0].level


def main() -> int:
    old, new = big_chart("1.0.0"), big_chart("2.0.0")
    print(f"chart: {len(new) / MiB:.1f} MiB packed, 40 CRDs, 3000 components in values.yaml, 300 templates")
    read_seconds, read_peak, chart = measure("read the big chart", lambda: chart_archive.read(new))
    assert isinstance(chart, chart_archive.Chart) and len(chart.crds) == 40
    payload = bomb()
    _, bomb_peak, refused = measure(f"refuse a 1 GiB gzip bomb ({len(payload) / MiB:.1f} MiB packed)",
                                    lambda: chart_archive.read(payload))  # fmt: skip
    print(f"  -> {refused}")
    downloads, seconds, level = asyncio.run(many_proposals(old, new))
    print(f"{PROPOSALS} proposals of one chart pair: {downloads} downloads, {seconds:.2f} s, level {level}")
    ok = (
        read_seconds < TARGET_READ_SECONDS
        and read_peak < TARGET_READ_PEAK_MIB
        and isinstance(refused, chart_archive.ChartError)
        and bomb_peak < TARGET_BOMB_PEAK_MIB
        and downloads == 2
        and seconds < TARGET_PROPOSALS_SECONDS
    )
    print("OK: all targets met" if ok else "FAILED: a target was missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
