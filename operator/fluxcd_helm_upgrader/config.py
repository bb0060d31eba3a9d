"""The UpgraderConfig spec as typed, validated, defaulted values.

`parse(spec)` turns the raw `spec` of an UpgraderConfig (a mapping from Kopf) into frozen
dataclasses, or raises `ConfigError` naming the field and saying how to fix it. It applies the
same defaults as crds/upgraderconfigs.yaml, because the operator must behave the same when the API
server did not default the object (an emulator, an old CRD). tests/unit/test_crds.py checks that the
two agree. Handlers call `config.parse` (alias `from_spec`) at the start of every cycle. Process-level
settings (environment variables) are in settings.py, not here.
"""

from __future__ import annotations

import difflib
import enum
import posixpath
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fluxcd_helm_upgrader.checking import durations, release_age, tenancy
from fluxcd_helm_upgrader.gitops import urls
from fluxcd_helm_upgrader.structs import urls as structs_urls

# Defaults, identical to the `default:` values in crds/upgraderconfigs.yaml.
DEFAULT_INTERVAL = "30m"
DEFAULT_GIT_PATH = "./"
DEFAULT_AUTHOR_NAME = "fluxcd-helm-upgrader"
DEFAULT_AUTHOR_EMAIL = "fluxcd-helm-upgrader@users.noreply.github.com"
DEFAULT_API_URL = "https://api.github.com"
DEFAULT_BRANCH_PREFIX = "helm-upgrader/"
DEFAULT_LABELS = ("dependencies",)
DEFAULT_MAX_OPEN = 10  # like Renovate's prConcurrentLimit: a first run never floods a team with PRs

_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_RELEASE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
# Characters Git refuses in branch names (git check-ref-format), plus whitespace.
_BAD_REF = re.compile(r"[\s~^:?*\[\\]|\.\.|@\{|//")


class ConfigError(ValueError):
    """An UpgraderConfig field is invalid; str() is "<field path>: <what is wrong and what to do>"."""

    def __init__(self, field_path: str, message: str) -> None:
        super().__init__(f"{field_path}: {message}")
        self.field_path = field_path
        self.message = message


class Provider(enum.StrEnum):
    """Who opens pull requests (`spec.pullRequests.provider`)."""

    GITHUB = "github"
    NONE = "none"  # push the branch only


class AllowedUpdates(enum.StrEnum):
    """The largest version step proposed (`spec.policy.allowedUpdates`)."""

    MAJOR = "major"
    MINOR = "minor"
    PATCH = "patch"


@dataclass(frozen=True)
class ScopeSpec:
    """Which HelmReleases a config covers (`spec.scope`)."""

    cluster_wide: bool
    namespaces: tuple[str, ...]  # empty when cluster_wide
    # A validated metav1.LabelSelector, read-only, in the shape checking.scope.matches takes:
    # {"matchLabels": {k: v}, "matchExpressions": ({"key", "operator", "values": (...)}, ...)},
    # only the non-empty parts; {} selects everything.
    selector: Mapping[str, Any]
    # Never from the spec: namespaces a cycle found its ServiceAccount may not list HelmReleases in (cycles.tenancy).
    excluded: frozenset[str] = frozenset()


@dataclass(frozen=True)
class GitSpec:
    """The GitOps repository (`spec.git`)."""

    url: urls.GitUrl
    branch: str | None  # None: the remote's HEAD
    path: str  # normalised, relative to the repository root: "." or "clusters/production"
    secret_name: str | None
    author_name: str
    author_email: str


@dataclass(frozen=True)
class PullRequestSpec:
    """How upgrades are proposed (`spec.pullRequests`)."""

    provider: Provider
    api_url: str  # without a trailing slash
    repository: str | None  # owner/name; None only with provider none and no derivable repository
    secret_name: str | None  # defaults to git.secret_name
    branch_prefix: str
    labels: tuple[str, ...]
    assignees: tuple[str, ...]
    reviewers: tuple[str, ...]
    draft: bool
    max_open: int = DEFAULT_MAX_OPEN  # open PRs (provider none: pushed branches) at once; 0: no limit
    max_per_hour: int = 0  # PRs (branches) opened per hour; 0: no limit


@dataclass(frozen=True)
class IgnoreSpec:
    """One `spec.policy.ignore` rule; it applies when every selector it sets matches."""

    chart: str | None
    versions: str | None  # a semver constraint; None ignores every version
    release: str | None  # "namespace/name"


@dataclass(frozen=True)
class PolicySpec:
    """Which versions are proposed (`spec.policy`)."""

    include_prerelease: bool
    allowed_updates: AllowedUpdates
    ignore: tuple[IgnoreSpec, ...]
    minimum_release_age: float = 0.0  # seconds; 0: every version is proposed as soon as it appears


@dataclass(frozen=True)
class UpgraderConfigSpec:
    """A whole, validated UpgraderConfig spec."""

    interval_seconds: float
    suspend: bool
    scope: ScopeSpec
    git: GitSpec
    pull_requests: PullRequestSpec
    policy: PolicySpec
    service_account_name: str | None = None  # spec's; each cycle fills in the operator's default (cycles.tenancy)


# The fields each object of the spec may have: anything else is a typo worth reporting.
_FIELDS: dict[str, tuple[str, ...]] = {
    "spec": ("interval", "suspend", "scope", "git", "pullRequests", "policy", "serviceAccountName"),
    "spec.scope": ("clusterWide", "namespaces", "selector"),
    "spec.scope.selector": ("matchLabels", "matchExpressions"),
    "spec.git": ("url", "branch", "path", "secretRef", "author"),
    "spec.git.author": ("name", "email"),
    "spec.pullRequests": ("provider", "apiURL", "repository", "secretRef", "branchPrefix", "labels",
                          "assignees", "reviewers", "draft", "maxOpen", "maxPerHour"),
    "spec.policy": ("includePrerelease", "allowedUpdates", "ignore", "minimumReleaseAge"),
}  # fmt: skip


class _Object:
    """A mapping at a field path, with typed getters whose errors name that path."""

    def __init__(self, value: object, path: str, known: tuple[str, ...]) -> None:
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            raise ConfigError(path, f"expected an object, got {_kind(value)}")
        for key in value:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f"; known fields: {', '.join(known)}"
                raise ConfigError(f"{path}.{key}", f"unknown field{hint}")
        self.value: Mapping[str, Any] = value
        self.path = path

    def at(self, key: str) -> str:
        return f"{self.path}.{key}"

    def object(self, key: str) -> _Object:
        path = self.at(key)
        return _Object(self.value.get(key), path, _FIELDS[path])

    def string(self, key: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.value.get(key)
        if value is None:
            if required:
                raise ConfigError(self.at(key), "is required")
            return default
        if not isinstance(value, str):
            raise ConfigError(self.at(key), f"expected a string, got {_kind(value)}")
        if not value.strip():
            raise ConfigError(self.at(key), "must not be empty")
        return value.strip()

    def boolean(self, key: str, default: bool) -> bool:
        value = self.value.get(key, default)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise ConfigError(self.at(key), f"expected true or false, got {_kind(value)}")
        return value

    def strings(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self.value.get(key)
        if value is None:
            return default
        if not isinstance(value, list):
            raise ConfigError(self.at(key), f"expected a list of strings, got {_kind(value)}")
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                raise ConfigError(f"{self.at(key)}[{index}]", f"expected a non-empty string, got {_kind(item)}")
        return tuple(item.strip() for item in value)

    def count(self, key: str, default: int) -> int:
        value = self.value.get(key, default)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(self.at(key), f"expected a whole number >= 0 (0: no limit), got {value!r:.40}")
        return value

    def enum(self, key: str, kind: type[enum.StrEnum], default: str) -> str:
        value = self.string(key, default)
        allowed = [member.value for member in kind]
        if value not in allowed:
            raise ConfigError(self.at(key), f"{value!r} is not one of {', '.join(allowed)}")
        return value

    def secret_name(self, key: str) -> str | None:
        return _Object(self.value.get(key), self.at(key), ("name",)).string("name", required=key in self.value)


def parse(spec: Mapping[str, Any]) -> UpgraderConfigSpec:
    """Validate and default an UpgraderConfig `spec`; raise ConfigError naming the first bad field."""
    root = _Object(spec, "spec", _FIELDS["spec"])
    if root.value.get("git") is None:
        raise ConfigError("spec.git.url", "is required: the Git URL of the GitOps repository")
    git = _git(root.object("git"))
    if git.secret_name and structs_urls.sends_in_clear(git.url.original):
        raise ConfigError("spec.git.url", _https_required("the credentials of spec.git.secretRef", git.url.original))
    return UpgraderConfigSpec(
        interval_seconds=_interval(root),
        suspend=root.boolean("suspend", False),
        scope=_scope(root.object("scope")),
        git=git,
        pull_requests=_pull_requests(root.object("pullRequests"), git),
        policy=_policy(root.object("policy")),
        service_account_name=_account(root),
    )


from_spec = parse  # the name the handlers use: config.from_spec(spec)


def _account(root: _Object) -> str | None:
    name = root.string("serviceAccountName")
    if name is not None and not tenancy.valid_account_name(name):
        raise ConfigError(root.at("serviceAccountName"), f"{name[:80]!r} is not a ServiceAccount name (a DNS subdomain "
                          "such as team-a-upgrader): it names an account of this config's namespace")  # fmt: skip
    return name


def _interval(root: _Object) -> float:
    text = root.string("interval", DEFAULT_INTERVAL)
    assert text is not None
    try:
        seconds = durations.parse_duration(text)
    except ValueError as error:
        raise ConfigError(root.at("interval"), str(error)) from None
    if seconds <= 0:
        raise ConfigError(root.at("interval"), f"{text!r} must be longer than zero, e.g. 30m")
    return seconds


def _scope(scope: _Object) -> ScopeSpec:
    cluster_wide = scope.boolean("clusterWide", True)
    namespaces = scope.strings("namespaces")
    if cluster_wide and namespaces:
        raise ConfigError(
            scope.at("namespaces"),
            "is set but clusterWide is true; set clusterWide: false to watch only these namespaces",
        )
    if not cluster_wide and not namespaces:
        raise ConfigError(scope.at("namespaces"), "clusterWide is false, so list the namespaces to watch here")
    return ScopeSpec(cluster_wide=cluster_wide, namespaces=namespaces, selector=_selector(scope))


def _selector(scope: _Object) -> Mapping[str, Any]:
    selector = scope.object("selector")
    labels = selector.value.get("matchLabels") or {}
    if not isinstance(labels, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        raise ConfigError(selector.at("matchLabels"), 'expected a map of strings, e.g. {tier: "web"}')
    raw_expressions = selector.value.get("matchExpressions") or []
    if not isinstance(raw_expressions, list):
        raise ConfigError(selector.at("matchExpressions"), f"expected a list, got {_kind(raw_expressions)}")
    expressions = []
    for index, raw in enumerate(raw_expressions):
        item = _Object(raw, f"{selector.at('matchExpressions')}[{index}]", ("key", "operator", "values"))
        key, operator = item.string("key", required=True), item.string("operator", required=True)
        values = item.strings("values")
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise ConfigError(item.at("operator"), f"{operator!r} is not one of In, NotIn, Exists, DoesNotExist")
        if (operator in ("In", "NotIn")) != bool(values):
            need = "needs values" if operator in ("In", "NotIn") else "takes no values"
            raise ConfigError(item.at("values"), f"operator {operator} {need}")
        expressions.append(types.MappingProxyType({"key": key, "operator": operator, "values": values}))
    result: dict[str, Any] = {}
    if labels:
        result["matchLabels"] = types.MappingProxyType(dict(labels))
    if expressions:
        result["matchExpressions"] = tuple(expressions)
    return types.MappingProxyType(result)


def _git(git: _Object) -> GitSpec:
    raw_url = git.value.get("url")
    if raw_url is None or raw_url == "":
        raise ConfigError(git.at("url"), "is required: the Git URL of the GitOps repository")
    try:
        url = urls.parse(raw_url)
    except ValueError as error:
        raise ConfigError(git.at("url"), str(error)) from None
    author = git.object("author")
    author_name = author.string("name", DEFAULT_AUTHOR_NAME)
    author_email = author.string("email", DEFAULT_AUTHOR_EMAIL)
    assert author_name is not None and author_email is not None
    branch = git.string("branch")
    if branch is not None and _BAD_REF.search(branch):
        raise ConfigError(git.at("branch"), f"{branch!r} is not a valid Git branch name")
    return GitSpec(
        url=url,
        branch=branch,
        path=_repo_path(git),
        secret_name=git.secret_name("secretRef"),
        author_name=author_name,
        author_email=author_email,
    )


def _repo_path(git: _Object) -> str:
    text = git.string("path", DEFAULT_GIT_PATH)
    assert text is not None
    normal = posixpath.normpath(text)
    if text.startswith("/") or normal == ".." or normal.startswith("../"):
        raise ConfigError(git.at("path"), f"{text!r} must be relative to the repository root, e.g. ./clusters/prod")
    return normal


def _pull_requests(prs: _Object, git: GitSpec) -> PullRequestSpec:
    provider = Provider(prs.enum("provider", Provider, Provider.GITHUB.value))
    api_url = prs.string("apiURL", DEFAULT_API_URL)
    assert api_url is not None
    if not re.match(r"^https?://[^/\s]+", api_url):
        raise ConfigError(prs.at("apiURL"), f"{api_url!r} is not an http(s) URL, e.g. https://HOST/api/v3")
    if provider is Provider.GITHUB and structs_urls.sends_in_clear(api_url):
        raise ConfigError(prs.at("apiURL"), _https_required("the pull request token", api_url))
    repository = prs.string("repository") or git.url.github_repository()
    if repository is not None and not _REPOSITORY.match(repository):
        raise ConfigError(prs.at("repository"), f"{repository!r} is not owner/name, e.g. acme/fleet")
    if provider is Provider.GITHUB and repository is None:
        raise ConfigError(
            prs.at("repository"),
            f"cannot derive the GitHub repository from spec.git.url {git.url.redacted()!r};"
            " set it as owner/name, or use provider: none",
        )
    prefix = prs.string("branchPrefix", DEFAULT_BRANCH_PREFIX)
    assert prefix is not None
    if _BAD_REF.search(prefix) or prefix.startswith(("/", "-", ".")):
        raise ConfigError(prs.at("branchPrefix"), f"{prefix!r} cannot start a Git branch name")
    return PullRequestSpec(
        provider=provider,
        api_url=api_url.rstrip("/"),
        repository=repository,
        secret_name=prs.secret_name("secretRef") or git.secret_name,
        branch_prefix=prefix,
        labels=prs.strings("labels", DEFAULT_LABELS),
        assignees=prs.strings("assignees"),
        reviewers=prs.strings("reviewers"),
        draft=prs.boolean("draft", False),
        max_open=prs.count("maxOpen", DEFAULT_MAX_OPEN),
        max_per_hour=prs.count("maxPerHour", 0),
    )


def _policy(policy: _Object) -> PolicySpec:
    raw_ignore = policy.value.get("ignore") or []
    if not isinstance(raw_ignore, list):
        raise ConfigError(policy.at("ignore"), f"expected a list of rules, got {_kind(raw_ignore)}")
    rules = []
    for index, raw in enumerate(raw_ignore):
        rule = _Object(raw, f"{policy.at('ignore')}[{index}]", ("chart", "versions", "release"))
        if not rule.value:
            raise ConfigError(rule.path, "an empty rule would ignore everything; set chart, release or versions")
        release = rule.string("release")
        if release is not None and not _RELEASE.match(release):
            raise ConfigError(rule.at("release"), f"{release!r} is not namespace/name, e.g. apps/podinfo")
        rules.append(IgnoreSpec(chart=rule.string("chart"), versions=rule.string("versions"), release=release))
    raw_age = policy.value.get("minimumReleaseAge")
    if raw_age is not None and not isinstance(raw_age, str):
        raise ConfigError(policy.at("minimumReleaseAge"), f"expected a duration such as 3d, got {_kind(raw_age)}")
    try:
        age = release_age.parse_age(raw_age or "")
    except ValueError as error:
        raise ConfigError(policy.at("minimumReleaseAge"), str(error)) from None
    return PolicySpec(
        include_prerelease=policy.boolean("includePrerelease", False),
        allowed_updates=AllowedUpdates(policy.enum("allowedUpdates", AllowedUpdates, AllowedUpdates.MAJOR.value)),
        ignore=tuple(rules),
        minimum_release_age=age,
    )


def _https_required(what: str, url: str) -> str:
    return (
        f"https is required: {what} would go over plain http to {structs_urls.sanitize(url)!r}; "
        "plain http is allowed only to loopback addresses (127.0.0.1, ::1, localhost)"
    )


def _kind(value: object) -> str:
    """Describe a wrong value for an error message (short: values can be long)."""
    if value is None:
        return "nothing"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"
