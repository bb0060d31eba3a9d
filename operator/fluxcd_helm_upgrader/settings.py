"""Process-level settings of the operator, read once at startup from `UPGRADER_*` environment variables.

Per-repository settings live in the UpgraderConfig spec (see config.py); only what belongs to the
process (cache, ports, limits of the index fetcher) is here. `services.Services.create` (operator start-up) reads
them once with `Settings.from_env(os.environ)` and passes the object down (`cycles.handling.Deps`, the Git
workspace, the fetchers); `handlers.configs` reads `tick_seconds` at import, as Kopf's timer interval is fixed when
the handler is registered. scripts/gen_config_reference.py documents every field from the `env`/`doc` metadata
below, so a new field is documented by writing it.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fluxcd_helm_upgrader.checking import tenancy

ENV_PREFIX = "UPGRADER_"
DEFAULT_CACHE_DIR = Path("/var/cache/fluxcd-helm-upgrader")
MIB = 1024 * 1024


class SettingsError(ValueError):
    """An environment variable has a value the operator cannot use; the message names the variable."""


def _meta(env: str, doc: str) -> dict[str, str]:
    return {"env": ENV_PREFIX + env, "doc": doc}


@dataclass(frozen=True)
class Settings:
    """Process-level settings; every field has a default and an `UPGRADER_*` variable."""

    cache_dir: Path = field(
        default=DEFAULT_CACHE_DIR,
        metadata=_meta(
            "CACHE_DIR",
            "Directory for Git clones and cached Helm indexes. When the default is not writable "
            "the operator falls back to a directory under the system temporary directory.",
        ),
    )
    metrics_port: int = field(
        default=9090,
        metadata=_meta("METRICS_PORT", "Port of the Prometheus metrics endpoint; 0 turns it off."),
    )
    max_index_bytes: int = field(
        default=100 * MIB,
        metadata=_meta(
            "MAX_INDEX_BYTES",
            "Largest Helm repository index.yaml downloaded, in bytes; bigger ones fail the release's check.",
        ),
    )
    fetch_concurrency: int = field(
        default=8,
        metadata=_meta("FETCH_CONCURRENCY", "How many index or registry requests run at once."),
    )
    fetch_timeout_seconds: float = field(
        default=60.0,
        metadata=_meta("FETCH_TIMEOUT_SECONDS", "Timeout of one index or registry request, in seconds."),
    )
    webhook_port: int = field(
        default=0,
        metadata=_meta(
            "WEBHOOK_PORT",
            "Port of the incoming webhook receiver that triggers an immediate check; 0 turns it off.",
        ),
    )

    webhook_secret: str = field(
        default="fluxcd-helm-upgrader-webhook",
        metadata=_meta(
            "WEBHOOK_SECRET",
            "Name of the Secret (in the operator's namespace, key `token`) holding the webhook HMAC secret.",
        ),
    )
    namespace: str = field(
        default="fluxcd-helm-upgrader",
        metadata=_meta("NAMESPACE", "The operator's own namespace (set from the pod's namespace by deploy/)."),
    )
    allow_file_git_urls: bool = field(
        default=False,
        metadata=_meta(
            "ALLOW_FILE_GIT_URLS",
            "`true` lets `spec.git.url` be a `file://` URL (a repository on the operator's own filesystem: tests "
            "and the demo). Off, such a config is `Ready=False`, reason `InvalidConfig`.",
        ),
    )
    key_dir: Path | None = field(
        default=None,
        metadata=_meta(
            "KEY_DIR",
            "Directory for key material (SSH keys, Git auth header config, TLS client keys), each in a private "
            "0700 directory for the duration of one command. Should be memory-backed (deploy/ mounts an emptyDir "
            "with `medium: Memory`); unset: /dev/shm when writable, else the system temporary directory with a "
            "warning. Leftovers of a killed process are removed at start-up.",
        ),
    )
    tick_seconds: float = field(
        default=5.0,
        metadata=_meta(
            "TICK_SECONDS",
            "How often each UpgraderConfig is looked at to see whether its spec.interval elapsed or a "
            "reconcile was requested; the upper bound on the delay of a `reconcile.fluxcd.io/requestedAt` run.",
        ),
    )
    default_service_account: str | None = field(
        default=None,
        metadata=_meta(
            "DEFAULT_SERVICE_ACCOUNT",
            "Flux's `--default-service-account`: an UpgraderConfig without `spec.serviceAccountName` reads its Secrets "
            "by impersonating this ServiceAccount of its own namespace, and its scope is checked with "
            "SubjectAccessReviews. Unset: such a config reads them with the operator's own identity.",
        ),
    )
    no_cross_namespace_refs: bool = field(
        default=False,
        metadata=_meta(
            "NO_CROSS_NAMESPACE_REFS",
            "Flux's `--no-cross-namespace-refs`: `true` keeps every UpgraderConfig to the HelmReleases of its own "
            "namespace, and a HelmRelease whose chart source is in another namespace is reported "
            "(`CrossNamespaceRef`), not read.",
        ),
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build the settings from `env` (normally os.environ); raise SettingsError on a bad value."""
        cache_var = env_name("cache_dir")
        if env.get(cache_var, "").strip():
            cache_dir = Path(env[cache_var].strip())
            if not _usable_dir(cache_dir):
                raise SettingsError(f"{cache_var}={str(cache_dir)!r}: cannot create or write that directory")
        else:
            cache_dir = _default_cache_dir()
        return cls(
            cache_dir=cache_dir,
            metrics_port=_port(env, "metrics_port"),
            max_index_bytes=_integer(env, "max_index_bytes", minimum=1),
            fetch_concurrency=_integer(env, "fetch_concurrency", minimum=1),
            fetch_timeout_seconds=_seconds(env, "fetch_timeout_seconds"),
            webhook_port=_port(env, "webhook_port"),
            tick_seconds=_seconds(env, "tick_seconds"),
            webhook_secret=(env.get(env_name("webhook_secret")) or str(_default("webhook_secret"))).strip(),
            namespace=(env.get(env_name("namespace")) or str(_default("namespace"))).strip(),
            allow_file_git_urls=_boolean(env, "allow_file_git_urls"),
            key_dir=_key_dir(env),
            default_service_account=_account(env, "default_service_account"),
            no_cross_namespace_refs=_boolean(env, "no_cross_namespace_refs"),
        )


def env_name(field_name: str) -> str:
    """The environment variable of a Settings field, e.g. UPGRADER_METRICS_PORT."""
    return str(_fields()[field_name].metadata["env"])


def _fields() -> dict[str, dataclasses.Field[object]]:
    return {f.name: f for f in dataclasses.fields(Settings)}


def _default(field_name: str) -> object:
    return _fields()[field_name].default


def _default_cache_dir() -> Path:
    # A read-only root filesystem or a non-root user without the volume: use a temporary directory
    # rather than refusing to start; the cache only saves downloads.
    if _usable_dir(DEFAULT_CACHE_DIR):
        return DEFAULT_CACHE_DIR
    return Path(tempfile.gettempdir()) / "fluxcd-helm-upgrader"


def _usable_dir(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(path, os.W_OK | os.X_OK)


def _raw(env: Mapping[str, str], field_name: str) -> str | None:
    value = env.get(env_name(field_name), "").strip()
    return value or None


def _integer(env: Mapping[str, str], field_name: str, *, minimum: int, maximum: int | None = None) -> int:
    raw = _raw(env, field_name)
    if raw is None:
        default = _default(field_name)
        assert isinstance(default, int)
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{env_name(field_name)}={raw!r}: expected a whole number") from None
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"from {minimum} to {maximum}" if maximum is not None else f"of at least {minimum}"
        raise SettingsError(f"{env_name(field_name)}={raw!r}: expected a number {bounds}")
    return value


def _boolean(env: Mapping[str, str], field_name: str) -> bool:
    raw = _raw(env, field_name)
    if raw is None:
        return bool(_default(field_name))
    if raw.lower() in ("true", "1", "yes"):
        return True
    if raw.lower() in ("false", "0", "no"):
        return False
    raise SettingsError(f"{env_name(field_name)}={raw!r}: expected true or false")


def _account(env: Mapping[str, str], field_name: str) -> str | None:
    raw = _raw(env, field_name)
    if raw is not None and not tenancy.valid_account_name(raw):
        raise SettingsError(f"{env_name(field_name)}={raw!r}: not a ServiceAccount name (a DNS subdomain, e.g. "
                            "fluxcd-helm-upgrader); each config's own namespace is implied")  # fmt: skip
    return raw


def _key_dir(env: Mapping[str, str]) -> Path | None:
    raw = _raw(env, "key_dir")
    if raw is None:
        return None
    path = Path(raw)
    if not _usable_dir(path):
        raise SettingsError(f"{env_name('key_dir')}={raw!r}: cannot create or write that directory")
    return path


def _port(env: Mapping[str, str], field_name: str) -> int:
    return _integer(env, field_name, minimum=0, maximum=65535)


def _seconds(env: Mapping[str, str], field_name: str) -> float:
    raw = _raw(env, field_name)
    if raw is None:
        default = _default(field_name)
        assert isinstance(default, float)
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{env_name(field_name)}={raw!r}: expected a number of seconds") from None
    if not value > 0 or value == float("inf"):
        raise SettingsError(f"{env_name(field_name)}={raw!r}: expected a positive number of seconds")
    return value
