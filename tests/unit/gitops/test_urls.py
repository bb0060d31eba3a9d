"""Git URL parsing (gitops/urls.py): the forms Flux users write, and clear refusals."""

from __future__ import annotations

import pytest

from fluxcd_helm_upgrader.gitops import urls


@pytest.mark.parametrize(
    ("text", "scheme", "host", "port", "user", "path"),
    [
        ("ssh://git@github.com/acme/fleet.git", "ssh", "github.com", None, "git", "/acme/fleet.git"),
        ("ssh://git@GitHub.com:2222/acme/fleet", "ssh", "github.com", 2222, "git", "/acme/fleet"),
        ("ssh://gitea.local/team/apps.git", "ssh", "gitea.local", None, None, "/team/apps.git"),
        ("ssh://git@[::1]:2200/srv/fleet.git", "ssh", "::1", 2200, "git", "/srv/fleet.git"),
        ("git@github.com:acme/fleet.git", "ssh", "github.com", None, "git", "acme/fleet.git"),
        ("github.com:acme/fleet", "ssh", "github.com", None, None, "acme/fleet"),
        ("deploy@10.0.0.5:/srv/git/fleet.git", "ssh", "10.0.0.5", None, "deploy", "/srv/git/fleet.git"),
        ("https://github.com/acme/fleet.git", "https", "github.com", None, None, "/acme/fleet.git"),
        ("https://ci-bot@git.example.com:8443/a/b", "https", "git.example.com", 8443, "ci-bot", "/a/b"),
        ("http://127.0.0.1:3000/acme/fleet", "http", "127.0.0.1", 3000, None, "/acme/fleet"),
        ("git://127.0.0.1:9418/fleet.git", "git", "127.0.0.1", 9418, None, "/fleet.git"),
        ("file:///tmp/remotes/fleet.git", "file", "", None, None, "/tmp/remotes/fleet.git"),
        ("file://localhost/tmp/fleet", "file", "", None, None, "/tmp/fleet"),
    ],
)
def test_parses_supported_forms(
    text: str, scheme: str, host: str, port: int | None, user: str | None, path: str
) -> None:
    url = urls.parse(text)
    assert (url.scheme, url.host, url.port, url.user, url.path) == (scheme, host, port, user, path)
    assert url.original == text  # git is handed exactly what the user wrote


@pytest.mark.parametrize(
    ("text", "repository"),
    [
        ("ssh://git@github.com/acme/fleet.git", "acme/fleet"),
        ("git@github.com:acme/fleet.git", "acme/fleet"),
        ("https://github.com/acme/fleet", "acme/fleet"),
        ("https://github.com/acme/fleet/", "acme/fleet"),
        ("https://ghe.corp.example/platform/gitops.git", "platform/gitops"),  # any host: GHE
        ("ssh://git@github.com/acme/group/fleet.git", None),  # three segments (GitLab subgroup)
        ("https://github.com/fleet.git", None),
        ("file:///acme/fleet", None),  # local: no forge repository
        ("git@github.com:acme/.git", None),
    ],
)
def test_github_repository(text: str, repository: str | None) -> None:
    assert urls.parse(text).github_repository() == repository


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("foo", "'foo' is not a Git URL; use ssh://, https://, file:// or git@host:path"),
        ("", "is not a Git URL"),
        ("   ", "is not a Git URL"),
        ("/srv/git/fleet.git", "is not a Git URL"),
        ("C:/repos/fleet", "is not a Git URL"),
        ("git@github.com:", "is not a Git URL"),
        ("https://github.com/acme/fleet .git", "whitespace"),
        ("ftp://example.com/fleet.git", "unsupported scheme 'ftp'"),
        ("ssh://git@github.com:acme/fleet.git", "drop ssh://"),
        ("https://example.com:99999/a/b", "port"),
        ("https://example.com:0/a/b", "port"),
        ("https:///acme/fleet", "host is missing"),
        ("https://github.com/", "repository path is missing"),
        ("https://github.com/acme/fleet?ref=main", "no ?query"),
        ("file://server/share/fleet", "file:///absolute/path"),
        ("file:relative/fleet", "write file://"),
        ("https:github.com/acme/fleet", "write https://"),
    ],
)
def test_rejects_with_a_clear_message(text: str, says: str) -> None:
    with pytest.raises(ValueError) as caught:
        urls.parse(text)
    assert says in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        "https://bot:s3cr3t-pass@github.com/acme/fleet.git",
        "http://bot:s3cr3t-pass@127.0.0.1:3000/acme/fleet",
        "ssh://git:s3cr3t-pass@github.com/acme/fleet.git",
    ],
)
def test_password_in_url_is_refused_without_echoing_it(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        urls.parse(text)
    message = str(caught.value)
    assert "s3cr3t-pass" not in message
    assert "Secret" in message and "secretRef" in message


def test_unparsable_url_with_userinfo_is_quoted_redacted() -> None:
    with pytest.raises(ValueError) as caught:
        urls.parse("ftp://ghp_tokenvalue@example.com/a/b")
    assert "ghp_tokenvalue" not in str(caught.value)
    assert "'ftp://example.com/a/b'" in str(caught.value)


def test_https_user_name_is_hidden_when_printed() -> None:
    # GitHub accepts a token as the user name, so an https user name is treated as secret.
    url = urls.parse("https://ghp_abcdef@github.com/acme/fleet.git")
    assert url.user == "ghp_abcdef"
    assert url.redacted() == "https://github.com/acme/fleet.git"
    assert "ghp_abcdef" not in str(url)
    assert "ghp_abcdef" not in repr(url)
    assert "ghp_abcdef" not in f"{url}"


def test_every_url_user_is_dropped_when_printed_but_the_scp_form_is_kept() -> None:
    # One rule for every URL shown (structs.urls.sanitize); the scp-like form cannot carry a password.
    url = urls.parse("ssh://git@github.com:22/acme/fleet.git")
    assert url.redacted() == "ssh://github.com:22/acme/fleet.git"
    assert url.original == "ssh://git@github.com:22/acme/fleet.git"  # what git is given
    assert str(urls.parse("git@github.com:acme/fleet.git")) == "git@github.com:acme/fleet.git"


def test_git_url_is_a_frozen_value() -> None:
    first, second = urls.parse("git@github.com:acme/fleet.git"), urls.parse("git@github.com:acme/fleet.git")
    assert first == second and hash(first) == hash(second)
    with pytest.raises(AttributeError):
        first.host = "evil.example"  # type: ignore[misc]
