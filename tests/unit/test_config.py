"""UpgraderConfig spec parsing (config.py) and process settings (settings.py)."""

from __future__ import annotations

import copy
import dataclasses
import tempfile
from pathlib import Path
from typing import Any

import pytest

from fluxcd_helm_upgrader import config, settings

MINIMAL: dict[str, Any] = {"git": {"url": "ssh://git@github.com/acme/fleet.git"}}


def spec_with(path: str, value: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """A copy of `base` (default MINIMAL) with the dotted `path` set to `value`."""
    spec = copy.deepcopy(MINIMAL if base is None else base)
    *parents, leaf = path.split(".")
    node = spec
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value
    return spec


def test_minimal_spec_gets_every_default() -> None:
    cfg = config.parse(MINIMAL)
    assert cfg.interval_seconds == 1800
    assert cfg.suspend is False
    assert cfg.scope == config.ScopeSpec(cluster_wide=True, namespaces=(), selector={})
    assert cfg.git.url.github_repository() == "acme/fleet"
    assert (cfg.git.branch, cfg.git.path, cfg.git.secret_name) == (None, ".", None)
    assert cfg.git.author_name == "fluxcd-helm-upgrader"
    assert cfg.git.author_email == "fluxcd-helm-upgrader@users.noreply.github.com"
    assert cfg.pull_requests == config.PullRequestSpec(
        provider=config.Provider.GITHUB,
        api_url="https://api.github.com",
        repository="acme/fleet",
        secret_name=None,
        branch_prefix="helm-upgrader/",
        labels=("dependencies",),
        assignees=(),
        reviewers=(),
        draft=False,
        max_open=10,
        max_per_hour=0,
    )
    assert cfg.policy == config.PolicySpec(
        include_prerelease=False, allowed_updates=config.AllowedUpdates.MAJOR, ignore=()
    )


def test_full_spec() -> None:
    cfg = config.parse(
        {
            "interval": "1h30m",
            "suspend": True,
            "scope": {
                "clusterWide": False,
                "namespaces": ["apps", "infra"],
                "selector": {
                    "matchLabels": {"team": "a"},
                    "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["test"]}],
                },
            },
            "git": {
                "url": "https://git.example.com/platform/fleet.git",
                "branch": "main",
                "path": "./clusters/prod/",
                "secretRef": {"name": "git-auth"},
                "author": {"name": "Bot", "email": "bot@example.com"},
            },
            "pullRequests": {
                "apiURL": "https://git.example.com/api/v3/",
                "repository": "platform/other",
                "secretRef": {"name": "gh-token"},
                "branchPrefix": "upgrades/",
                "labels": [],
                "assignees": ["alice"],
                "reviewers": ["bob", "carol"],
                "draft": True,
            },
            "policy": {
                "includePrerelease": True,
                "allowedUpdates": "patch",
                "ignore": [{"chart": "redis", "versions": ">=18.0.0"}, {"release": "apps/podinfo"}],
                "minimumReleaseAge": "3d",
            },
        }
    )
    assert (cfg.interval_seconds, cfg.suspend) == (5400, True)
    assert cfg.scope.cluster_wide is False and cfg.scope.namespaces == ("apps", "infra")
    assert cfg.scope.selector == {
        "matchLabels": {"team": "a"},
        "matchExpressions": ({"key": "tier", "operator": "NotIn", "values": ("test",)},),
    }
    assert (cfg.git.branch, cfg.git.path, cfg.git.secret_name) == ("main", "clusters/prod", "git-auth")
    assert (cfg.git.author_name, cfg.git.author_email) == ("Bot", "bot@example.com")
    prs = cfg.pull_requests
    assert prs.api_url == "https://git.example.com/api/v3"
    assert (prs.repository, prs.secret_name, prs.branch_prefix) == ("platform/other", "gh-token", "upgrades/")
    assert (prs.labels, prs.assignees, prs.reviewers, prs.draft) == ((), ("alice",), ("bob", "carol"), True)
    assert cfg.policy.include_prerelease is True
    assert cfg.policy.allowed_updates == "patch"
    assert cfg.policy.minimum_release_age == 3 * 86400
    assert cfg.policy.ignore == (
        config.IgnoreSpec(chart="redis", versions=">=18.0.0", release=None),
        config.IgnoreSpec(chart=None, versions=None, release="apps/podinfo"),
    )


def test_the_selector_is_read_only() -> None:
    cfg = config.parse(spec_with("scope.selector", {"matchLabels": {"a": "b"}}))
    with pytest.raises(TypeError):
        cfg.scope.selector["matchLabels"]["a"] = "c"


def test_pull_request_secret_defaults_to_the_git_secret() -> None:
    cfg = config.parse(spec_with("git.secretRef", {"name": "flux-system"}))
    assert cfg.pull_requests.secret_name == "flux-system"


@pytest.mark.parametrize(
    ("url", "repository"),
    [
        ("git@github.com:acme/fleet.git", "acme/fleet"),
        ("https://ghe.corp/platform/gitops", "platform/gitops"),
        ("file:///srv/git/fleet.git", None),
    ],
)
def test_provider_none_needs_no_repository(url: str, repository: str | None) -> None:
    spec = {"git": {"url": url}, "pullRequests": {"provider": "none"}}
    cfg = config.parse(spec)
    assert cfg.pull_requests.provider is config.Provider.NONE
    assert cfg.pull_requests.repository == repository


def test_github_with_a_local_remote_and_explicit_repository() -> None:
    # The e2e setup: a file:// remote and a GitHub stand-in.
    spec = {"git": {"url": "file:///tmp/fleet.git"}, "pullRequests": {"repository": "acme/fleet"}}
    assert config.parse(spec).pull_requests.repository == "acme/fleet"


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("5m", 300), ("1h", 3600), ("1.5h", 5400), ("250ms", 0.25)]
)
def test_interval(text: str, seconds: float) -> None:
    assert config.parse(spec_with("interval", text)).interval_seconds == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("spec", "field_path", "says"),
    [
        ({}, "spec.git.url", "is required"),
        ({"git": {}}, "spec.git.url", "is required"),
        ({"git": {"url": "foo"}}, "spec.git.url",
         "'foo' is not a Git URL; use ssh://, https://, file:// or git@host:path"),
        ({"git": {"url": "https://github.com/acme/fleet"}, "gitt": {}}, "spec.gitt", "did you mean 'git'?"),
        (spec_with("pullRequest", {}), "spec.pullRequest", "did you mean 'pullRequests'?"),
        (spec_with("git.secretRef", {}), "spec.git.secretRef.name", "is required"),
        (spec_with("interval", "30 minutes"), "spec.interval", "unknown unit"),
        (spec_with("interval", "0s"), "spec.interval", "longer than zero"),
        (spec_with("interval", "-5m"), "spec.interval", "longer than zero"),
        (spec_with("interval", 30), "spec.interval", "expected a string"),
        (spec_with("suspend", "yes"), "spec.suspend", "expected true or false"),
        (spec_with("scope", {"clusterWide": False}), "spec.scope.namespaces", "list the namespaces"),
        (spec_with("scope", {"namespaces": ["apps"]}), "spec.scope.namespaces", "set clusterWide: false"),
        (spec_with("scope", {"clusterWide": False, "namespaces": "apps"}), "spec.scope.namespaces",
         "expected a list"),
        (spec_with("scope.selector", {"matchLabels": {"a": 1}}), "spec.scope.selector.matchLabels",
         "map of strings"),
        (spec_with("scope.selector", {"matchExpressions": [{"key": "a", "operator": "Has"}]}),
         "spec.scope.selector.matchExpressions[0].operator", "is not one of In, NotIn"),
        (spec_with("scope.selector", {"matchExpressions": [{"key": "a", "operator": "In"}]}),
         "spec.scope.selector.matchExpressions[0].values", "needs values"),
        (spec_with("scope.selector", {"matchExpressions": [{"key": "a", "operator": "Exists",
                                                            "values": ["x"]}]}),
         "spec.scope.selector.matchExpressions[0].values", "takes no values"),
        (spec_with("git.path", "/abs"), "spec.git.path", "relative to the repository root"),
        (spec_with("git.path", "../outside"), "spec.git.path", "relative to the repository root"),
        (spec_with("git.branch", "feature branch"), "spec.git.branch", "not a valid Git branch"),
        (spec_with("git.author", {"name": ""}), "spec.git.author.name", "must not be empty"),
        (spec_with("pullRequests.provider", "gitlab"), "spec.pullRequests.provider",
         "'gitlab' is not one of github, none"),
        (spec_with("pullRequests.apiURL", "api.github.com"), "spec.pullRequests.apiURL",
         "not an http(s) URL"),
        (spec_with("pullRequests.repository", "fleet"), "spec.pullRequests.repository", "not owner/name"),
        (spec_with("pullRequests.branchPrefix", "-x/"), "spec.pullRequests.branchPrefix", "cannot start"),
        (spec_with("pullRequests.branchPrefix", "a..b/"), "spec.pullRequests.branchPrefix", "cannot start"),
        (spec_with("pullRequests.labels", ["ok", ""]), "spec.pullRequests.labels[1]", "non-empty string"),
        (spec_with("pullRequests.draft", "false"), "spec.pullRequests.draft", "expected true or false"),
        ({"git": {"url": "file:///srv/fleet.git"}}, "spec.pullRequests.repository",
         "cannot derive the GitHub repository from spec.git.url 'file:///srv/fleet.git'"),
        ({"git": {"url": "ssh://git@gitlab.com/a/b/c.git"}}, "spec.pullRequests.repository",
         "or use provider: none"),
        (spec_with("policy.allowedUpdates", "everything"), "spec.policy.allowedUpdates",
         "is not one of major, minor, patch"),
        (spec_with("policy.ignore", [{}]), "spec.policy.ignore[0]", "would ignore everything"),
        (spec_with("policy.ignore", [{"chart": "a", "version": "1"}]), "spec.policy.ignore[0].version",
         "did you mean 'versions'?"),
        (spec_with("policy.ignore", [{"release": "podinfo"}]), "spec.policy.ignore[0].release",
         "not namespace/name"),
        (spec_with("policy.ignore", {"chart": "a"}), "spec.policy.ignore", "expected a list"),
        (spec_with("policy", []), "spec.policy", "expected an object"),
        (spec_with("policy.minimumReleaseAge", "3 days"), "spec.policy.minimumReleaseAge",
         "such as 3d, 1d12h, 72h or 30m"),
        (spec_with("policy.minimumReleaseAge", 3), "spec.policy.minimumReleaseAge", "expected a duration"),
        (spec_with("serviceAccountName", "Team:SA"), "spec.serviceAccountName", "is not a ServiceAccount name"),
        (spec_with("serviceAccountName", "system:serviceaccount:team-a:sa"), "spec.serviceAccountName",
         "of this config's namespace"),
        (spec_with("serviceAccountName", ""), "spec.serviceAccountName", "must not be empty"),
    ],
)  # fmt: skip
def test_errors_name_the_field_and_the_fix(spec: dict[str, Any], field_path: str, says: str) -> None:
    with pytest.raises(config.ConfigError) as caught:
        config.parse(spec)
    assert caught.value.field_path == field_path
    assert str(caught.value).startswith(f"{field_path}: ")
    assert says in str(caught.value)


def test_password_in_git_url_is_not_repeated_in_the_error() -> None:
    with pytest.raises(config.ConfigError) as caught:
        config.parse({"git": {"url": "https://bot:hunter2@github.com/acme/fleet.git"}})
    assert caught.value.field_path == "spec.git.url"
    assert "hunter2" not in str(caught.value)
    assert "secretRef" in str(caught.value)


def test_token_user_name_is_not_repeated_in_the_repository_error() -> None:
    with pytest.raises(config.ConfigError) as caught:
        config.parse({"git": {"url": "https://ghp_secret@example.com/a/b/c"}})
    assert "ghp_secret" not in str(caught.value)


def test_service_account_name_is_read_and_absent_by_default() -> None:
    assert config.parse(MINIMAL).service_account_name is None
    assert config.parse(spec_with("serviceAccountName", "sa-b")).service_account_name == "sa-b"


def test_config_error_is_a_value_error() -> None:
    assert issubclass(config.ConfigError, ValueError)


def test_from_spec_is_parse() -> None:
    assert config.from_spec(MINIMAL) == config.parse(MINIMAL)


# --- settings.py -------------------------------------------------------------------------------


def test_settings_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "DEFAULT_CACHE_DIR", tmp_path / "cache")
    got = settings.Settings.from_env({})
    assert got == settings.Settings(
        cache_dir=tmp_path / "cache",
        metrics_port=9090,
        max_index_bytes=100 * 1024 * 1024,
        fetch_concurrency=8,
        fetch_timeout_seconds=60.0,
        webhook_port=0,
    )
    assert (tmp_path / "cache").is_dir()


def test_settings_from_env(tmp_path: Path) -> None:
    env = {
        "UPGRADER_CACHE_DIR": str(tmp_path / "c"),
        "UPGRADER_METRICS_PORT": "0",
        "UPGRADER_MAX_INDEX_BYTES": "1048576",
        "UPGRADER_FETCH_CONCURRENCY": "2",
        "UPGRADER_FETCH_TIMEOUT_SECONDS": "2.5",
        "UPGRADER_WEBHOOK_PORT": "8080",
        "UNRELATED": "x",
    }
    got = settings.Settings.from_env(env)
    assert got == settings.Settings(tmp_path / "c", 0, 1048576, 2, 2.5, 8080)


def test_unwritable_default_cache_dir_falls_back_to_a_temp_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setattr(settings, "DEFAULT_CACHE_DIR", blocker / "cache")  # cannot mkdir under a file
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    assert settings.Settings.from_env({}).cache_dir == tmp_path / "tmp" / "fluxcd-helm-upgrader"


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("UPGRADER_METRICS_PORT", "http", "expected a whole number"),
        ("UPGRADER_METRICS_PORT", "70000", "from 0 to 65535"),
        ("UPGRADER_WEBHOOK_PORT", "-1", "from 0 to 65535"),
        ("UPGRADER_FETCH_CONCURRENCY", "0", "at least 1"),
        ("UPGRADER_MAX_INDEX_BYTES", "100MiB", "expected a whole number"),
        ("UPGRADER_FETCH_TIMEOUT_SECONDS", "0", "positive number of seconds"),
        ("UPGRADER_FETCH_TIMEOUT_SECONDS", "soon", "number of seconds"),
    ],
)
def test_bad_settings_name_the_variable(variable: str, value: str, says: str) -> None:
    with pytest.raises(settings.SettingsError) as caught:
        settings.Settings.from_env({variable: value})
    assert str(caught.value).startswith(f"{variable}={value!r}: ")
    assert says in str(caught.value)


def test_tenancy_switches_are_named_as_flux_names_them() -> None:
    assert settings.Settings.from_env({}).default_service_account is None
    assert settings.Settings.from_env({}).no_cross_namespace_refs is False
    locked = settings.Settings.from_env(
        {"UPGRADER_DEFAULT_SERVICE_ACCOUNT": "fluxcd-helm-upgrader", "UPGRADER_NO_CROSS_NAMESPACE_REFS": "true"}
    )
    assert (locked.default_service_account, locked.no_cross_namespace_refs) == ("fluxcd-helm-upgrader", True)


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("UPGRADER_DEFAULT_SERVICE_ACCOUNT", "system:serviceaccount:kube-system:admin", "not a ServiceAccount name"),
        ("UPGRADER_NO_CROSS_NAMESPACE_REFS", "sometimes", "expected true or false"),
    ],
)
def test_bad_tenancy_switches_name_the_variable(variable: str, value: str, says: str) -> None:
    with pytest.raises(settings.SettingsError) as caught:
        settings.Settings.from_env({variable: value})
    assert str(caught.value).startswith(f"{variable}={value!r}: ")
    assert says in str(caught.value)


def test_explicit_cache_dir_that_cannot_be_created_is_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(settings.SettingsError, match="UPGRADER_CACHE_DIR"):
        settings.Settings.from_env({"UPGRADER_CACHE_DIR": str(blocker / "cache")})


def test_every_setting_is_documented() -> None:
    for field in dataclasses.fields(settings.Settings):
        assert field.metadata["env"] == "UPGRADER_" + field.name.upper()
        assert len(field.metadata["doc"]) > 20


@pytest.mark.parametrize(
    ("spec_update", "field"),
    [
        ({"pullRequests": {"apiURL": "http://github.example.test/api/v3"}}, "spec.pullRequests.apiURL"),
        ({"git": {"url": "http://git.example.test/acme/fleet.git", "secretRef": {"name": "git"}}}, "spec.git.url"),
    ],
)
def test_credentials_over_plain_http_to_a_remote_host_are_invalid(spec_update: dict, field: str) -> None:
    spec = {"git": {"url": "https://github.com/acme/fleet.git", "secretRef": {"name": "git"}}, **spec_update}
    with pytest.raises(config.ConfigError) as caught:
        config.parse(spec)
    assert caught.value.field_path == field
    assert "https is required" in str(caught.value)


@pytest.mark.parametrize(
    "spec",
    [
        {"git": {"url": "https://github.com/acme/fleet.git"}, "pullRequests": {"apiURL": "http://127.0.0.1:8080"}},
        {"git": {"url": "http://[::1]:3000/acme/fleet.git", "secretRef": {"name": "git"}}},
        # No credentials travel: a public http remote with provider none is allowed.
        {"git": {"url": "http://git.example.test/acme/fleet.git"}, "pullRequests": {"provider": "none"}},
    ],
)
def test_plain_http_is_fine_to_loopback_or_without_credentials(spec: dict) -> None:
    config.parse(spec)


@pytest.mark.parametrize("value", ["staging", "prod-eu.1", "a_b", "x" * 63])
def test_cluster_name(value: str) -> None:
    assert settings.Settings.from_env({"UPGRADER_CLUSTER_NAME": f" {value} "}).cluster_name == value


def test_cluster_name_defaults_to_empty() -> None:
    assert settings.Settings.from_env({}).cluster_name == ""


@pytest.mark.parametrize("value", ["two words", "a,b", "<b>", "-dash", "x" * 64, "naïve"])
def test_a_cluster_name_that_cannot_go_into_a_pr_body_is_refused(value: str) -> None:
    with pytest.raises(settings.SettingsError, match="UPGRADER_CLUSTER_NAME"):
        settings.Settings.from_env({"UPGRADER_CLUSTER_NAME": value})


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [("maxOpen", 0, 0), ("maxOpen", 250, 250), ("maxPerHour", 0, 0), ("maxPerHour", 20, 20)],
)
def test_pull_request_limits(field: str, value: int, expected: int) -> None:
    prs = config.parse(spec_with(f"pullRequests.{field}", value)).pull_requests
    assert (prs.max_open if field == "maxOpen" else prs.max_per_hour) == expected


@pytest.mark.parametrize("value", [-1, "5", 2.5, True])
@pytest.mark.parametrize("field", ["maxOpen", "maxPerHour"])
def test_bad_pull_request_limits_name_the_field(field: str, value: Any) -> None:
    with pytest.raises(config.ConfigError) as caught:
        config.parse(spec_with(f"pullRequests.{field}", value))
    assert caught.value.field_path == f"spec.pullRequests.{field}"
    assert "0: no limit" in str(caught.value)
