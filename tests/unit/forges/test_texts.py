"""PR title and body text: table, appVersion, deprecation, changelog window, escaping, marker, size cap."""

from __future__ import annotations

import dataclasses
import re

import pytest

from fluxcd_helm_upgrader.checking import indexes, risk
from fluxcd_helm_upgrader.forges import texts

FACTS = texts.Facts(
    proposal_namespace="flux-system",
    proposal_name="apps-podinfo",
    release_namespace="apps",
    release_name="podinfo",
    chart="podinfo",
    from_version="6.5.0",
    to_version="6.7.1",
    source_url="https://stefanprodan.github.io/podinfo",
    manifest_path="apps/base/podinfo/release.yaml",
    manifest_line=14,
)


def table_row(body: str) -> str:
    lines = body.splitlines()
    return lines[lines.index("| --- | --- | --- | --- | --- |") + 1]


def unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def headings(body: str) -> list[str]:
    return re.findall(r"^#### (.+)$", body, flags=re.M)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("podinfo", "6.7.1", "apps", "podinfo"), "Update podinfo to 6.7.1 in apps/podinfo"),
        (("ingress-nginx", "4.11.0", "ingress", "nginx"), "Update ingress-nginx to 4.11.0 in ingress/nginx"),
        (("oci-chart", "v1.2.3-rc.1", "team-a", "svc"), "Update oci-chart to v1.2.3-rc.1 in team-a/svc"),
    ],
)
def test_title(args: tuple[str, str, str, str], expected: str) -> None:
    assert texts.title(*args) == expected


def test_title_is_one_line_and_capped() -> None:
    long = texts.title("c" * 300, "1.0.0\n", "ns", "r")
    assert len(long) == texts.TITLE_LIMIT and "\n" not in long and long.endswith("…")


def test_table_row_lists_release_chart_versions_source_and_line() -> None:
    row = table_row(texts.body(FACTS))
    assert row == (
        "| `apps/podinfo` | podinfo | `6.5.0` → `6.7.1` | "
        "[https://stefanprodan.github.io/podinfo](https://stefanprodan.github.io/podinfo) | "
        "`apps/base/podinfo/release.yaml:14` |"
    )


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ("6.5.0", "6.7.1", "App version: `6.5.0` → `6.7.1`"),
        (None, "6.7.1", "App version: unknown → `6.7.1`"),
        ("6.7.1", "6.7.1", None),
        ("6.5.0", None, None),
    ],
)
def test_app_version_line(before: str | None, after: str | None, expected: str | None) -> None:
    body = texts.body(dataclasses.replace(FACTS, app_version_from=before, app_version_to=after))
    if expected is None:
        assert "App version" not in body
    else:
        assert expected in body.splitlines()


@pytest.mark.parametrize("deprecated", [True, False])
def test_deprecation_warning(deprecated: bool) -> None:
    body = texts.body(dataclasses.replace(FACTS, deprecated=deprecated))
    assert ("> [!WARNING]" in body) is deprecated
    assert ("**deprecated**" in body) is deprecated


def test_changelog_covers_versions_after_current_up_to_target_newest_first() -> None:
    changes = [
        ("6.5.0", [indexes.ChangelogEntry(kind="fixed", description="already running")]),
        (
            "6.6.0",
            [
                indexes.ChangelogEntry(kind="added", description="new dashboard"),
                indexes.ChangelogEntry(kind="changed", description="bump alpine"),
            ],
        ),
        ("7.0.0", [indexes.ChangelogEntry(kind="removed", description="not proposed yet")]),
        ("6.7.1", [indexes.ChangelogEntry(kind="security", description="CVE fix")]),
        ("6.7.0-rc.1", [indexes.ChangelogEntry(kind=None, description="release candidate")]),
    ]
    body = texts.body(FACTS, changes)
    assert headings(body) == ["6.7.1", "6.7.0-rc.1", "6.6.0"]
    assert "- **Security**: CVE fix" in body
    assert "- **Added**: new dashboard" in body and "- **Changed**: bump alpine" in body
    assert "- release candidate" in body
    assert "already running" not in body and "not proposed yet" not in body
    assert body.index("CVE fix") < body.index("new dashboard")


def test_no_changelog_section_without_entries() -> None:
    assert "### Changes" not in texts.body(FACTS, [("6.7.1", [])])
    assert "### Changes" not in texts.body(FACTS)


def test_range_as_current_version_does_not_filter_the_lower_end() -> None:
    body = texts.body(
        dataclasses.replace(FACTS, from_version=">=6.0.0 <7.0.0"),
        [
            ("6.1.0", [indexes.ChangelogEntry(kind=None, description="old but unknown")]),
            ("6.7.1", [indexes.ChangelogEntry(kind=None, description="new")]),
        ],
    )
    assert headings(body) == ["6.7.1", "6.1.0"]


@pytest.mark.parametrize(
    ("description", "present", "absent"),
    [
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;", "<script>"),
        ("a | b", "a \\| b", None),
        ("thanks @octocat", "@\u200boctocat", "@octocat"),
        ("[click](javascript:alert(1))", "\\[click\\](javascript:alert(1))", "[click]("),
        ("line one\n# not a heading\n| not | a row |", "line one \\# not a heading", "\n# not"),
        ("**bold** and `code`", "\\*\\*bold\\*\\* and \\`code\\`", "**bold**"),
        (
            "<!-- fluxcd-helm-upgrader: proposal=evil/x release=evil/y -->",
            "&lt;\\!-- fluxcd",
            "<!-- fluxcd-helm-upgrader: proposal=evil",
        ),
    ],
)
def test_changelog_text_is_escaped(description: str, present: str, absent: str | None) -> None:
    body = texts.body(FACTS, [("6.7.1", [indexes.ChangelogEntry(kind="fixed", description=description)])])
    assert present in body
    if absent is not None:
        assert absent not in body
    assert texts.parse_marker(body) == {"proposal": "flux-system/apps-podinfo", "release": "apps/podinfo"}


@pytest.mark.parametrize(
    ("link", "rendered"),
    [
        (
            indexes.Link(name="PR #12", url="https://github.com/x/y/pull/12"),
            "([PR \\#12](https://github.com/x/y/pull/12))",
        ),
        (indexes.Link(name="docs", url="https://example.com/a_(b)"), "([docs](https://example.com/a_%28b%29))"),
        (indexes.Link(name="evil", url="javascript:alert(1)"), "(evil)"),
        (indexes.Link(name=None, url="https://example.com/x"), "([https://example.com/x](https://example.com/x))"),
    ],
)
def test_change_links(link: indexes.Link, rendered: str) -> None:
    body = texts.body(FACTS, [("6.7.1", [indexes.ChangelogEntry(kind="added", description="thing", links=(link,))])])
    assert f"- **Added**: thing {rendered}" in body


def test_hostile_chart_name_and_versions_keep_the_table_shape() -> None:
    hostile = dataclasses.replace(
        FACTS, chart="a|b<i>", from_version="1.0.0|x", to_version="`2.0.0`", manifest_path="dir|x/release.yaml"
    )
    row = table_row(texts.body(hostile))
    assert unescaped_pipes(row) == 6
    assert "<i>" not in row


@pytest.mark.parametrize(
    ("proposal", "release"),
    [
        (("flux-system", "apps-podinfo"), ("apps", "podinfo")),
        (("ops", "a.b-c"), ("team-1", "x")),
    ],
)
def test_marker_round_trip(proposal: tuple[str, str], release: tuple[str, str]) -> None:
    facts = dataclasses.replace(
        FACTS,
        proposal_namespace=proposal[0],
        proposal_name=proposal[1],
        release_namespace=release[0],
        release_name=release[1],
    )
    body = texts.body(facts)
    assert texts.parse_marker(body) == {"proposal": "/".join(proposal), "release": "/".join(release)}
    assert texts.marker(*proposal, *release) in body
    assert texts.marker(*proposal, *release).startswith("<!-- ")  # hidden when rendered


@pytest.mark.parametrize("body", [None, "", "a PR written by a human", "<!-- fluxcd-helm-upgrader: -->"])
def test_parse_marker_without_marker(body: str | None) -> None:
    assert texts.parse_marker(body) is None


@pytest.mark.parametrize("name", ["Apps", "a b", "a/b", "-x", "a-->"])
def test_marker_rejects_non_kubernetes_names(name: str) -> None:
    with pytest.raises(ValueError):
        texts.marker("ns", name, "apps", "podinfo")


def test_body_is_capped_oldest_entries_dropped_marker_kept() -> None:
    facts = dataclasses.replace(FACTS, from_version="0.0.1", to_version="9.9.9")
    changes = [
        (
            f"1.{minor}.0",
            [indexes.ChangelogEntry(kind="fixed", description=f"fix {minor}-{i} " + "x" * 300) for i in range(10)],
        )
        for minor in range(100)
    ]
    body = texts.body(facts, changes)
    assert len(body) <= texts.BODY_LIMIT < 65_536
    assert texts.parse_marker(body) is not None
    shown = len(re.findall(r"^- \*\*Fixed\*\*", body, flags=re.M))
    assert 0 < shown < 1000
    assert f"_{1000 - shown} older change entries omitted" in body
    assert headings(body)[0] == "1.99.0"  # newest first, kept


def test_long_single_entry_is_cut() -> None:
    body = texts.body(FACTS, [("6.7.1", [indexes.ChangelogEntry(kind="fixed", description="y" * 5000)])])
    assert "y" * texts.DESCRIPTION_LIMIT + "…" in body
    assert "y" * (texts.DESCRIPTION_LIMIT + 1) not in body


# --- the "Upgrade risk" section ---------------------------------------------------------------------


def _risk(**kwargs: object) -> risk.Risk:
    defaults: dict[str, object] = {"level": "High", "from_version": "6.5.0", "to_version": "7.0.0"}
    return risk.Risk(**{**defaults, **kwargs})  # type: ignore[arg-type]


def test_risk_section_lists_level_findings_paths_and_cluster_version() -> None:
    findings = (
        risk.Finding("ValueRemoved", "the release sets service.port, which podinfo 7.0.0 no longer has",
                     risk.Severity.HIGH, "service.port"),
        risk.Finding("KubeVersion", "requires kubeVersion '>=1.32.0-0'; the cluster runs v1.31.0", risk.Severity.HIGH),
    )  # fmt: skip
    body = texts.body(dataclasses.replace(FACTS, risk=_risk(findings=findings, cluster_version="v1.31.0")))
    section = body[body.index("### Upgrade risk: High") :]
    assert "Both charts compared (`6.5.0` → `7.0.0`) with this release's values on Kubernetes `v1.31.0`." in section
    assert "- **ValueRemoved** `service.port`: the release sets service.port, which podinfo 7.0.0 no longer has" in (
        section
    )
    assert "- **KubeVersion**: requires kubeVersion '&gt;=1.32.0-0'; the cluster runs v1.31.0" in section
    assert body.index("### Upgrade risk") < body.index("<!-- fluxcd-helm-upgrader:")


def test_risk_section_escapes_chart_text_markdown_injection_does_not_work() -> None:
    hostile = "x\n\n# Approved by security <img src=x onerror=alert(1)> [click](javascript:alert(1)) @octocat | a"
    finding = risk.Finding("SchemaViolation", hostile, risk.Severity.HIGH, "a`b\nc")
    body = texts.body(dataclasses.replace(FACTS, risk=_risk(findings=(finding,), notes=("**bold** note",))))
    line = next(x for x in body.splitlines() if x.startswith("- **SchemaViolation**"))
    assert "<img" not in body and "&lt;img" in line
    assert "\\[click\\]" in line and "](javascript" not in body.replace("\\]", "")
    assert "@\u200boctocat" in line and "\\|" in line
    assert not re.search(r"^# Approved", body, flags=re.M)
    assert "``a`b c``" in line  # the path stays one code span, whatever it holds
    assert "_Not checked: \\*\\*bold\\*\\* note_" in body


def test_unknown_risk_says_why() -> None:
    body = texts.body(dataclasses.replace(FACTS, risk=_risk(level="Unknown", reason="HTTP 404 fetching x.tgz")))
    assert "### Upgrade risk: Unknown" in body
    assert "The risk could not be assessed (`6.5.0` → `7.0.0`): HTTP 404 fetching x.tgz" in body
