"""Pull request title and body text; pure (no I/O). Called by the proposal worker before ``open_or_update``.

The body is Markdown: a summary table (release, chart, from → to, source, file:line), the appVersion
change when known, a deprecation warning, the "Upgrade risk" section (``checking.risk``: the level, each
finding with its value path as code and its message escaped, and what could not be checked), the chart's
``artifacthub.io/changes`` entries for every
version after the current one up to the target (newest first), and a hidden HTML comment marker
naming the UpgradeProposal and HelmRelease, so the operator (or another cluster) can recognise its
own pull requests: ``<!-- fluxcd-helm-upgrader: proposal=<ns>/<name> release=<ns>/<name> -->``.

Chart metadata is written by chart maintainers, not by us, so it is treated as untrusted text: HTML
and Markdown control characters are escaped (nothing renders as HTML, no table is broken by a ``|``),
``@`` is followed by a zero-width space so a changelog cannot ping GitHub users, and only http(s)
links are rendered. The body is capped below GitHub's 65,536-character limit by dropping the oldest
changelog entries first; the table and the marker are always kept.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from fluxcd_helm_upgrader.checking import indexes, risk
from fluxcd_helm_upgrader.structs import urls

BODY_LIMIT = 60_000
"""Characters; GitHub rejects bodies over 65,536. The margin leaves room for edits by hand."""
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 1_000
"""One changelog entry longer than this is cut: it is a summary, the source link has the rest."""

_NAME = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")
_MARKER = re.compile(
    r"<!-- fluxcd-helm-upgrader: proposal=(?P<proposal>[a-z0-9.-]+/[a-z0-9.-]+)"
    r" release=(?P<release>[a-z0-9.-]+/[a-z0-9.-]+) -->"
)
_SEMVER = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")
_KIND_TITLES = {
    "added": "Added",
    "changed": "Changed",
    "deprecated": "Deprecated",
    "removed": "Removed",
    "fixed": "Fixed",
    "security": "Security",
}


@dataclasses.dataclass(frozen=True)
class Facts:
    """What the body describes. Versions are as written in Git (``from_version`` may be a range)."""

    proposal_namespace: str
    proposal_name: str
    release_namespace: str
    release_name: str
    chart: str
    from_version: str
    to_version: str
    source_url: str = ""
    manifest_path: str = ""
    manifest_line: int | None = None
    app_version_from: str | None = None
    app_version_to: str | None = None
    deprecated: bool = False
    risk: risk.Risk | None = None


# -- escaping -----------------------------------------------------------------------------------------

_MD_SPECIALS = re.compile(r"([\\`*_\[\]|~#!])")


def escape(text: str) -> str:
    """Untrusted text -> inline Markdown that renders as exactly that text, on one line."""
    text = " ".join(text.split())  # newlines would start a new block (a heading, a table row...)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_SPECIALS.sub(r"\\\1", text)
    return text.replace("@", "@\u200b")


def _code(text: str) -> str:
    """A code span that holds ``text`` whatever backticks it contains; still needs ``_cell`` in tables."""
    text = " ".join(text.split())
    runs = [len(r) for r in re.findall(r"`+", text)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _cell(markdown: str) -> str:
    # GFM splits table rows on "|" even inside code spans; "\|" is the documented way out.
    return re.sub(r"(?<!\\)\|", r"\\|", markdown)


def _link(name: str, url: str) -> str:
    url = url.strip()
    if not re.match(r"^https?://[^\s<>\"]+$", url):
        return escape(name or url)
    safe_url = url.replace("(", "%28").replace(")", "%29").replace("[", "%5B").replace("]", "%5D")
    return f"[{escape(name or url)}]({safe_url})"


# -- versions -------------------------------------------------------------------------------------------


def _version_key(version: str) -> tuple[tuple[int, int, int], tuple[object, ...]] | None:
    match = _SEMVER.match(version.strip())
    if not match:
        return None
    core = (int(match[1]), int(match[2] or 0), int(match[3] or 0))
    pre = match[4]
    # A release sorts after its prereleases; numeric identifiers before alphanumeric ones (SemVer 11).
    pre_key: tuple[object, ...] = (
        (1,) if not pre else (0, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split(".")))
    )
    return core, pre_key


def _between(
    changes: Sequence[tuple[str, Sequence[indexes.ChangelogEntry]]], low: str, high: str
) -> list[tuple[str, Sequence[indexes.ChangelogEntry]]]:
    """Entries with low < version <= high, newest first; unparseable bounds do not filter."""
    low_key, high_key = _version_key(low), _version_key(high)
    kept = []
    for version, entries in changes:
        key = _version_key(version)
        if key is not None:
            if low_key is not None and key <= low_key:
                continue
            if high_key is not None and key > high_key:
                continue
        kept.append((version, entries))
    # Unparseable versions sort last rather than failing.
    kept.sort(
        key=lambda item: (_version_key(item[0]) is not None, _version_key(item[0]) or ((0, 0, 0), ())), reverse=True
    )
    return kept


# -- public API -----------------------------------------------------------------------------------------


def title(chart: str, version: str, namespace: str, release: str) -> str:
    """``Update <chart> to <version> in <namespace>/<release>``, one line, at most 256 characters."""
    text = " ".join(f"Update {chart} to {version} in {namespace}/{release}".split())
    return text if len(text) <= TITLE_LIMIT else text[: TITLE_LIMIT - 1] + "…"


def branch_modified(branch: str, chart: str, target: str, commits: Sequence[str]) -> str:
    """The one comment posted on a PR whose branch someone else committed on (the operator stops rewriting it)."""
    listed = ", ".join(_code(c) for c in commits[:5]) + (f" and {len(commits) - 5} more" if len(commits) > 5 else "")
    return (
        f"**Edited/Blocked**: fluxcd-helm-upgrader will not update this pull request to {escape(chart)} "
        f"{escape(target)}, because someone else committed on {_code(branch)} ({listed}). Remove those commits "
        "or close this pull request to let it propose the new version; until then the branch is left as it is."
    )


def marker(proposal_namespace: str, proposal_name: str, release_namespace: str, release_name: str) -> str:
    """The hidden comment identifying a proposal; names must be Kubernetes object names."""
    for name in (proposal_namespace, proposal_name, release_namespace, release_name):
        if not _NAME.match(name):
            raise ValueError(f"not a Kubernetes object name: {name!r}")
    return (
        f"<!-- fluxcd-helm-upgrader: proposal={proposal_namespace}/{proposal_name}"
        f" release={release_namespace}/{release_name} -->"
    )


def parse_marker(body: str | None) -> dict[str, str] | None:
    """``{"proposal": "ns/name", "release": "ns/name"}`` from a PR body, or None without a marker.

    The last marker wins: ours closes the body, anything earlier was pasted in by someone.
    """
    matches = list(_MARKER.finditer(body or ""))
    if not matches:
        return None
    return {"proposal": matches[-1]["proposal"], "release": matches[-1]["release"]}


def _render_change(change: indexes.ChangelogEntry) -> str:
    description = change.description.strip()
    if len(description) > DESCRIPTION_LIMIT:
        description = description[:DESCRIPTION_LIMIT].rstrip() + "…"
    kind = (change.kind or "").strip().lower()
    prefix = f"**{_KIND_TITLES.get(kind) or escape(kind)}**: " if kind else ""
    links = ", ".join(_link(link.name or "", link.url) for link in change.links)
    return f"- {prefix}{escape(description)}" + (f" ({links})" if links else "")


def body(
    facts: Facts, changes: Sequence[tuple[str, Sequence[indexes.ChangelogEntry]]] = (), *, limit: int = BODY_LIMIT
) -> str:
    """The Markdown PR body; ``changes`` is ``[(version, [ChangelogEntry, ...]), ...]`` in any order."""
    release = f"{facts.release_namespace}/{facts.release_name}"
    where = facts.manifest_path + (f":{facts.manifest_line}" if facts.manifest_line else "")
    shown_url = urls.sanitize(facts.source_url)  # a proposal written by an older version may still hold userinfo
    source = _link(shown_url, shown_url) if shown_url else "—"
    head = [
        f"Update the Helm chart **{escape(facts.chart)}** of HelmRelease {_code(release)} "
        f"from {_code(facts.from_version)} to {_code(facts.to_version)}.",
        "",
        "| Release | Chart | Version | Source | Manifest |",
        "| --- | --- | --- | --- | --- |",
        "| "
        + " | ".join(
            _cell(c)
            for c in (
                _code(release),
                escape(facts.chart),
                f"{_code(facts.from_version)} → {_code(facts.to_version)}",
                source,
                _code(where) if where else "—",
            )
        )
        + " |",
    ]
    if facts.app_version_to and facts.app_version_to != facts.app_version_from:
        before = _code(facts.app_version_from) if facts.app_version_from else "unknown"
        head += ["", f"App version: {before} → {_code(facts.app_version_to)}"]
    if facts.deprecated:
        head += [
            "",
            "> [!WARNING]",
            f"> The chart {escape(facts.chart)} {_code(facts.to_version)} is marked **deprecated** "
            "by its maintainers: look for a successor before merging.",
        ]
    if facts.risk is not None:
        head += _risk_section(facts.risk)
    tail = [
        "",
        "---",
        "<sub>Proposed by fluxcd-helm-upgrader. Merge to upgrade; close without merging to skip "
        "this version (a newer one will be proposed when it appears).</sub>",
        "",
        marker(facts.proposal_namespace, facts.proposal_name, facts.release_namespace, facts.release_name),
    ]
    head_text, tail_text = "\n".join(head), "\n".join(tail)
    entries = _between(changes, facts.from_version, facts.to_version)
    section = _changes_section(entries, limit - len(head_text) - len(tail_text) - 2)
    return f"{head_text}{section}\n{tail_text}\n"


def _risk_section(assessed: risk.Risk) -> list[str]:
    """``### Upgrade risk: <level>``, then one line per finding; chart text is escaped, paths are code."""
    lines = ["", f"### Upgrade risk: {escape(assessed.level)}", ""]
    compared = f"{_code(assessed.from_version)} → {_code(assessed.to_version)}"
    where = f" on Kubernetes {_code(assessed.cluster_version)}" if assessed.cluster_version else ""
    if assessed.reason:
        lines.append(f"The risk could not be assessed ({compared}): {escape(assessed.reason)}")
    else:
        lines.append(f"Both charts compared ({compared}) with this release's values{where}.")
    if assessed.findings:
        lines.append("")
    for finding in assessed.findings:
        path = f" {_code(finding.path)}" if finding.path else ""
        lines.append(f"- **{escape(finding.type)}**{path}: {escape(finding.message)}")
    if not assessed.findings and not assessed.reason:
        lines.append("")
        lines.append("No finding: no value the release sets is removed or rejected, nothing else changes.")
    for note in assessed.notes:
        lines += ["", f"_Not checked: {escape(note)}_"]
    return lines


def _changes_section(entries: list[tuple[str, Sequence[indexes.ChangelogEntry]]], budget: int) -> str:
    """``### Changes`` with as many entries (newest first) as fit in ``budget`` characters."""
    total = sum(len(changes) for _, changes in entries)
    if total == 0:
        return ""
    note_room = 200  # the omission note, when needed
    lines = ["", "", "### Changes"]
    used = sum(len(line) + 1 for line in lines)
    shown = 0
    for version, changes in entries:
        heading = ["", f"#### {escape(version)}"]
        cost = sum(len(line) + 1 for line in heading)
        items = []
        for change in changes:
            rendered = _render_change(change)
            if used + cost + len(rendered) + 1 + note_room > budget:
                break
            items.append(rendered)
            cost += len(rendered) + 1
        if items:
            lines += [*heading, *items]
            used += cost
            shown += len(items)
        if len(items) < len(changes):
            break  # full: everything older is dropped, never a newer entry for an older one
    if shown < total:
        lines += [
            "",
            f"_{total - shown} older change entries omitted to keep this description under "
            "GitHub's size limit; see the chart's source._",
        ]
    return "\n".join(lines)
