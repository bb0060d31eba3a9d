"""One index of a checkout's manifests per commit: every file read and parsed once, not once per proposal.

Used by the Git worker (`proposals.checkouts`: one index per repository batch) and by `scan --path`
(`repository_scanning`), handed to `gitops.locating.locate(files=...)` and from there to the kustomize walk. It
answers what `manifests.Files` reads from disk, from memory:

* the bytes and parsed documents of each file (read on first use);
* the *.yaml/*.yml list of a directory;
* documents by name: `named(directory, name)` gives only the files with a document of that `metadata.name`, plus
  the unparsable files that mention it (the locator names those in its message), so scanning for one release no
  longer reads the whole tree: the map is built once, on the first scan of the commit;
* kustomize builds per Kustomization path (and Flux Kustomization, kind and field): every release of one
  Kustomization is located in the same build.

`refresh(sha, changed)` moves the index to a newer commit of the same checkout: only the files that commit changed
(as `git diff --name-only` lists them) are read again; the listings, the name map and the builds are recomputed
from memory. Decision: the index trusts that nothing but git changes the checkout between two refreshes (the
worker commits in-process and never touches the working tree; `scan --path --write` calls `forget`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from fluxcd_helm_upgrader.gitops import manifests

T = TypeVar("T")


class ManifestIndex(manifests.Files):
    """The manifests of the checkout at `root`, at commit `sha`."""

    def __init__(self, root: Path, sha: str = "") -> None:
        self.root = root.resolve()
        self.sha = sha
        self._data: dict[Path, bytes] = {}
        self._documents: dict[Path, list[Any] | None] = {}
        self._listings: dict[Path, list[Path]] = {}
        self._position_maps: dict[Path, dict[Path, int]] = {}
        self._names: dict[str, list[Path]] | None = None  # metadata.name -> files under root defining it
        self._unparsable: list[Path] = []
        self._builds: dict[tuple[Any, ...], Any] = {}
        self.reads = 0  # files read from disk (the benchmark and the tests count them)

    def yaml_files(self, directory: Path) -> list[Path]:
        listing = self._listings.get(directory)
        if listing is None:
            listing = self._listings[directory] = list(manifests.yaml_files(directory))
        return listing

    def _positions(self, directory: Path) -> dict[Path, int]:
        """Each *.yaml/*.yml file under `directory` -> its place in the listing (kept with the listings)."""
        positions = self._position_maps.get(directory)
        if positions is None:
            positions = self._position_maps[directory] = {p: i for i, p in enumerate(self.yaml_files(directory))}
        return positions

    def data(self, path: Path) -> bytes:
        cached = self._data.get(path)
        if cached is None:
            cached = self._data[path] = path.read_bytes()
            self.reads += 1
        return cached

    def documents(self, path: Path) -> list[Any] | None:
        if path not in self._documents:
            self._documents[path] = self._parse(path)
        return self._documents[path]

    def _parse(self, path: Path) -> list[Any] | None:
        try:
            return manifests.parse_documents(self.data(path))
        except OSError:
            return None

    def named(self, directory: Path, name: str) -> list[Path]:
        if self._names is None:
            self._index_names()
        assert self._names is not None
        needle = name.encode()
        candidates = set(self._names.get(name, ())) | {p for p in self._unparsable if needle in self.data(p)}
        positions = self._positions(directory)  # the listing's order, without walking it for every name
        return sorted((p for p in candidates if p in positions), key=positions.__getitem__)

    def _index_names(self) -> None:
        names: dict[str, list[Path]] = {}
        unparsable = []
        for path in self.yaml_files(self.root):
            docs = self.documents(path)
            if docs is None:
                unparsable.append(path)
                continue
            for doc in docs:
                meta = doc.get("metadata") if isinstance(doc, dict) else None
                if isinstance(meta, dict) and "name" in meta:
                    holders = names.setdefault(str(meta["name"]), [])
                    if not holders or holders[-1] != path:
                        holders.append(path)
        self._names, self._unparsable = names, unparsable

    def build(self, key: tuple[Any, ...], make: Callable[[], T]) -> T:
        if key not in self._builds:
            self._builds[key] = make()
        built: T = self._builds[key]
        return built

    def forget(self, paths: Iterable[str]) -> None:
        """Files (relative to the root) changed on disk: read them again; listings, names and builds are redone."""
        for rel in paths:
            for path in {self.root / rel, (self.root / rel).resolve()}:
                self._data.pop(path, None)
                self._documents.pop(path, None)
        self._listings.clear()
        self._position_maps.clear()
        self._builds.clear()
        self._names = None

    def refresh(self, sha: str, changed: Iterable[str]) -> None:
        """The checkout moved to `sha`; `changed` are the paths that commit range touched."""
        if sha != self.sha:
            self.forget(changed)
            self.sha = sha
