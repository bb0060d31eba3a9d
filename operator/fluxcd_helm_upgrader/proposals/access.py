"""Credentials for the PR worker: Git credentials and the forge, both from Flux-format Secrets read by name.

`git.secretRef` holds the Git credentials (SSH deploy key + known_hosts, HTTPS username/password or bearerToken,
or GitHub App keys); `pullRequests.secretRef` (default: the Git secret) holds the API token or the same App keys.

A GitHub App's JWT goes only to the App's own API: `githubAppBaseURL` in the Secret, else `pullRequests.apiURL`,
and never over plain http to a host that is not loopback. The installation token it buys (cached by
`forges.app_tokens`) is what pushes over HTTPS and what the forge sends to `apiURL`.

Every Secret is read as the config's ServiceAccount when its (effective) spec names one (`cycles.tenancy` fills in
UPGRADER_DEFAULT_SERVICE_ACCOUNT), through `secrets.reader_for` on the reader the caller passes; else as the operator.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fluxcd_helm_upgrader import config as config_
from fluxcd_helm_upgrader.forges import app_tokens, base, github, none
from fluxcd_helm_upgrader.gitops import credentials
from fluxcd_helm_upgrader.sources import secrets
from fluxcd_helm_upgrader.structs import accounts, urls


def _app_token_provider(data: secrets.SecretData, api_url: str) -> Callable[[], Awaitable[str]] | None:
    app_id, installation, key = (data.get(k) for k in ("githubAppID", "githubAppInstallationID", "githubAppPrivateKey"))
    if not (app_id and installation and key):
        return None
    base_url = (data.get("githubAppBaseURL") or b"").decode().strip() or api_url
    if urls.sends_in_clear(base_url):
        raise secrets.SourceAuthError(
            urls.https_required(f"secret {data.namespace}/{data.name}: the GitHub App's JWT", base_url)
        )

    async def provide() -> str:
        return await app_tokens.installation_token(
            base_url, int(app_id.decode().strip()), int(installation.decode().strip()), key.decode()
        )

    return provide


def _reader(core: secrets.SecretsApi, namespace: str, cfg: config_.UpgraderConfigSpec) -> secrets.SecretsApi:
    return secrets.reader_for(core, accounts.of(namespace, cfg.service_account_name))


async def git_credentials(
    core: secrets.SecretsApi, namespace: str, cfg: config_.UpgraderConfigSpec
) -> credentials.Credentials:
    """The Git credentials named by spec.git.secretRef (anonymous without one)."""
    if not cfg.git.secret_name:
        return credentials.Anonymous()
    data = await secrets.read_secret(_reader(core, namespace, cfg), namespace, cfg.git.secret_name)
    return credentials.from_secret(
        data.data,
        secret_name=f"{namespace}/{cfg.git.secret_name}",
        url=cfg.git.url.original,
        token_provider=_app_token_provider(data, cfg.pull_requests.api_url),
    )


async def forge_for(core: secrets.SecretsApi, namespace: str, cfg: config_.UpgraderConfigSpec) -> base.Forge:
    """The forge of this config: GitHub with the PR secret's token or App, or `none` (push only)."""
    prs = cfg.pull_requests
    if prs.provider == config_.Provider.NONE or not prs.repository:
        return none.NoneForge()
    if not prs.secret_name:
        raise secrets.SourceAuthError(
            "spec.pullRequests.secretRef (or spec.git.secretRef) must name a Secret with a `token` "
            "or GitHub App keys to open pull requests"
        )
    data = await secrets.read_secret(_reader(core, namespace, cfg), namespace, prs.secret_name)
    app_token = _app_token_provider(data, prs.api_url)
    if app_token is not None:
        # The JWT went to the App's own API (see the module docstring); the API gets the installation token.
        return github.GitHubForge(prs.repository, github.TokenCredentials(await app_token()), api_url=prs.api_url)
    decoded = {key: value.decode("utf-8", "replace") for key, value in data.data.items()}
    return github.GitHubForge(prs.repository, github.credentials_from_secret(decoded), api_url=prs.api_url)
