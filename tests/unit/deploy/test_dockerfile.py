"""The container image definition, checked offline: the Dockerfile and .dockerignore read by a small parser
(tests/unit/deploy/dockerfiles.py), cross-checked against what the operator expects at run time."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from fluxcd_helm_upgrader import cli, settings
from tests.unit.deploy import dockerfiles

REPO_ROOT = Path(__file__).resolve().parents[3]
BUILD_TOOLS = {"gcc", "g++", "make", "build-essential", "python3-dev", "libc6-dev", "libffi-dev", "libssl-dev"}


@pytest.fixture(scope="module")
def dockerfile() -> dockerfiles.Dockerfile:
    return dockerfiles.parse((REPO_ROOT / "Dockerfile").read_text())


@pytest.fixture(scope="module")
def ignore() -> dockerfiles.DockerIgnore:
    return dockerfiles.DockerIgnore.parse((REPO_ROOT / ".dockerignore").read_text())


def pyproject() -> dict[str, object]:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())


def assignments(text: str) -> dict[str, str]:
    """KEY=value pairs of an ENV or LABEL instruction (quoted values allowed)."""
    pairs = {}
    for word in shlex.split(text):
        key, sep, value = word.partition("=")
        assert sep, f"expected KEY=value, got {word!r}"
        pairs[key] = value
    return pairs


def build_junk(path: Path) -> bool:
    """Local build output (.gitignore'd) that a clean clone does not have and the image must not get."""
    return any(part == "__pycache__" or part.endswith(".egg-info") for part in path.parts)


def final_env(dockerfile: dockerfiles.Dockerfile) -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in dockerfile.final.all("ENV"):
        env.update(assignments(instruction.args))
    return env


# --- the parser itself ------------------------------------------------------------------------------------------


def test_parser_joins_continuations_skips_comments_and_substitutes_global_args() -> None:
    parsed = dockerfiles.parse(
        "# syntax=docker/dockerfile:1\n"
        "ARG BASE=debian:12.5\n"
        "FROM ${BASE} AS build\n"
        "RUN apt-get update \\\n"
        "  # a comment inside the continuation\n"
        " && apt-get install -y --no-install-recommends gcc make\n"
        "FROM $BASE\n"
        "COPY --from=build /out /out\n"
        'ENTRYPOINT ["app", "run"]\n'
    )
    assert parsed.global_args == {"BASE": "debian:12.5"}
    assert [(s.base, s.name) for s in parsed.stages] == [("debian:12.5", "build"), ("debian:12.5", None)]
    assert dockerfiles.apt_installed(parsed.stages[0]) == {"gcc", "make"}
    assert dockerfiles.apt_installed(parsed.final) == set()
    copy = parsed.final.all("COPY")[0]
    assert copy.flags() == {"from": "build"} and copy.words() == ["/out", "/out"]
    entrypoint = parsed.final.last("ENTRYPOINT")
    assert entrypoint is not None and entrypoint.exec_form() == ["app", "run"]


def test_parser_rejects_instructions_before_the_first_from() -> None:
    with pytest.raises(ValueError, match="only ARG"):
        dockerfiles.parse("RUN true\nFROM scratch\n")


@pytest.mark.parametrize(
    ("reference", "repository", "tag", "digest"),
    [
        ("python:3.11.13-slim-bookworm", "python", "3.11.13-slim-bookworm", None),
        ("python", "python", None, None),
        ("localhost:5000/team/app:1.2", "localhost:5000/team/app", "1.2", None),
        ("localhost:5000/team/app", "localhost:5000/team/app", None, None),
        ("python@sha256:abc", "python", None, "sha256:abc"),
    ],
)
def test_image_references_split_into_repository_tag_and_digest(
    reference: str, repository: str, tag: str | None, digest: str | None
) -> None:
    assert dockerfiles.image_ref(reference) == dockerfiles.ImageRef(repository, tag, digest)


@pytest.mark.parametrize(
    ("path", "excluded"),
    [
        ("tests/unit/test_x.py", True),
        ("src/app.py", False),
        ("src/__pycache__/app.cpython-311.pyc", True),
        ("src/deep/er/__pycache__/x.pyc", True),
        ("notes.md", True),
        ("keep.md", False),
    ],
)
def test_dockerignore_matching_follows_docker_semantics(path: str, excluded: bool) -> None:
    ignore = dockerfiles.DockerIgnore.parse("*\n!src/\n!keep.md\n**/__pycache__\ntests\n")
    assert ignore.excluded(path) is excluded


# --- the project's Dockerfile -----------------------------------------------------------------------------------


def test_image_is_built_in_two_stages_and_the_final_one_takes_only_the_venv(
    dockerfile: dockerfiles.Dockerfile,
) -> None:
    assert len(dockerfile.stages) >= 2
    builder_names = {stage.name for stage in dockerfile.stages[:-1]}
    copied_from = {c.flags().get("from") for c in dockerfile.final.all("COPY")}
    assert copied_from & builder_names, "the final stage copies nothing from a build stage"
    assert dockerfile.final.base not in builder_names, "the final stage must start from a clean base image"


def test_every_base_image_is_pinned_to_a_version(dockerfile: dockerfiles.Dockerfile) -> None:
    for stage in dockerfile.stages:
        ref = dockerfiles.image_ref(stage.base)
        assert ref.tag != "latest", stage.base
        assert ref.digest or (ref.tag and re.match(r"\d+\.\d+\.\d+", ref.tag)), f"{stage.base} is not pinned"


def test_final_base_is_python_311_slim_bookworm(dockerfile: dockerfiles.Dockerfile) -> None:
    ref = dockerfiles.image_ref(dockerfile.final.base)
    assert ref.repository == "python"
    assert ref.tag is not None and re.fullmatch(r"3\.11\.\d+-slim-bookworm", ref.tag)
    assert pyproject()["project"]["requires-python"] == ">=3.11"  # type: ignore[index]


def test_final_stage_runs_as_a_numeric_non_root_user(dockerfile: dockerfiles.Dockerfile) -> None:
    user = dockerfile.final.last("USER")
    assert user is not None, "no USER in the final stage: the image would run as root"
    uid, _, gid = user.args.partition(":")
    assert uid.isdigit() and int(uid) != 0, f"USER {user.args}: Kubernetes' runAsNonRoot needs a numeric uid"
    assert gid.isdigit() and int(gid) != 0, f"USER {user.args}: give a numeric non-root gid too"


def test_entrypoint_runs_the_operator_through_the_console_script(dockerfile: dockerfiles.Dockerfile) -> None:
    entrypoint = dockerfile.final.last("ENTRYPOINT")
    assert entrypoint is not None and entrypoint.exec_form() == ["fluxcd-helm-upgrader", "run"]
    assert "fluxcd-helm-upgrader" in pyproject()["project"]["scripts"]  # type: ignore[index]
    # `run` with no arguments must parse: the image starts without any.
    assert cli.build_parser().parse_args(["run"]).command == "run"


def test_final_stage_has_git_and_ssh_and_no_build_tools(dockerfile: dockerfiles.Dockerfile) -> None:
    installed = dockerfiles.apt_installed(dockerfile.final)
    assert {"git", "openssh-client"} <= installed
    assert not installed & BUILD_TOOLS
    runs = " ".join(run.args for run in dockerfile.final.all("RUN"))
    assert "--no-install-recommends" in runs
    assert "rm -rf /var/lib/apt/lists" in runs, "apt lists left in the image"


def test_ports_match_the_operator_defaults(dockerfile: dockerfiles.Dockerfile) -> None:
    exposed = {int(port.split("/")[0]) for e in dockerfile.final.all("EXPOSE") for port in e.words()}
    liveness = urlsplit(cli.build_parser().parse_args(["run"]).liveness)
    assert liveness.port in exposed and liveness.path == "/healthz"
    assert settings.Settings().metrics_port in exposed
    assert exposed == {8080, 9090}


def test_writable_paths_are_volumes_for_a_read_only_root(dockerfile: dockerfiles.Dockerfile) -> None:
    env = final_env(dockerfile)
    cache = str(settings.DEFAULT_CACHE_DIR)
    assert env["UPGRADER_CACHE_DIR"] == cache
    assert env["HOME"] == cache, "git and ssh write under $HOME: it must be on a volume"
    volumes = {v for instruction in dockerfile.final.all("VOLUME") for v in instruction.exec_form() or []}
    assert {cache, "/tmp"} <= volumes
    assert "/opt/venv/bin" in env["PATH"].split(":")


def test_labels_carry_oci_metadata_and_the_project_version(dockerfile: dockerfiles.Dockerfile) -> None:
    labels: dict[str, str] = {}
    for instruction in dockerfile.final.all("LABEL"):
        labels.update(assignments(instruction.args))
    # A stage's `ARG NAME` without a value inherits the global default; `ARG NAME=value` sets its own.
    values: dict[str, str] = {}
    for arg in dockerfile.final.all("ARG"):
        name, sep, value = arg.args.partition("=")
        values[name] = value if sep else dockerfile.global_args.get(name, "")
    resolved = {key: dockerfiles.substitute(text, values) for key, text in labels.items()}
    for key in ("title", "description", "version", "licenses", "source"):
        assert resolved.get(f"org.opencontainers.image.{key}"), f"missing label org.opencontainers.image.{key}"
    assert resolved["org.opencontainers.image.version"] == pyproject()["project"]["version"]  # type: ignore[index]
    assert resolved["org.opencontainers.image.base.name"] == dockerfile.final.base


def test_the_crds_ship_in_the_image(dockerfile: dockerfiles.Dockerfile) -> None:
    sources = [c.words()[0] for c in dockerfile.final.all("COPY") if "from" not in c.flags()]
    assert any(source.rstrip("/") == "crds" for source in sources)


# --- .dockerignore ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "tests/unit/test_config.py",
        ".venv/bin/python",
        ".git/HEAD",
        "benchmarks/run.py",
        "deploy/kustomization.yaml",
        "operator/fluxcd_helm_upgrader/__pycache__/cli.cpython-311.pyc",
        "operator/fluxcd_helm_upgrader.egg-info/PKG-INFO",
        ".mypy_cache/3.11/cache.db",
        ".pytest_cache/README.md",
    ],
)
def test_dockerignore_keeps_tests_venvs_git_and_caches_out(ignore: dockerfiles.DockerIgnore, path: str) -> None:
    assert ignore.excluded(path)


def test_everything_the_dockerfile_copies_is_in_the_build_context(
    dockerfile: dockerfiles.Dockerfile, ignore: dockerfiles.DockerIgnore
) -> None:
    copied = [c.words()[:-1] for stage in dockerfile.stages for c in stage.all("COPY") if "from" not in c.flags()]
    sources = [source.rstrip("/") for group in copied for source in group]
    assert sources, "no COPY from the build context"
    for source in sources:
        path = REPO_ROOT / source
        assert path.exists(), f"COPY {source}: no such file in the repository"
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file() and not build_junk(p)]
        assert files, f"COPY {source}: empty directory"
        for file in files:
            relative = file.relative_to(REPO_ROOT).as_posix()
            assert not ignore.excluded(relative), f"{relative} is copied by the Dockerfile but .dockerignore drops it"


# --- dependencies come from a hashed lock file ------------------------------------------------------------------

LOCK = REPO_ROOT / "requirements.lock"
PINNED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def locked() -> dict[str, tuple[str, list[str]]]:
    """name (normalised) -> (version, sha256 hashes) of every pin in requirements.lock."""
    from packaging.utils import canonicalize_name

    entries: dict[str, tuple[str, list[str]]] = {}
    current: str | None = None
    for line in LOCK.read_text().splitlines():
        match = PINNED.match(line)
        if match:
            current = str(canonicalize_name(match.group(1)))
            entries[current] = (match.group(2), [])
        elif current and line.strip().startswith("--hash=sha256:"):
            entries[current][1].append(line.strip().removeprefix("--hash=sha256:").rstrip(" \\"))
    return entries


def test_the_image_installs_dependencies_only_from_the_hashed_lock(dockerfile: dockerfiles.Dockerfile) -> None:
    runs = " ".join(run.args for stage in dockerfile.stages for run in stage.all("RUN"))
    assert "--require-hashes -r requirements.lock" in runs
    # The project itself is installed without resolving anything again.
    assert "--no-deps" in runs
    copied = [c.words()[:-1] for stage in dockerfile.stages for c in stage.all("COPY") if "from" not in c.flags()]
    assert any("requirements.lock" in group for group in copied)


def test_every_runtime_dependency_is_locked_with_hashes_and_satisfies_pyproject() -> None:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins = locked()
    dependencies = pyproject()["project"]["dependencies"]  # type: ignore[index]
    assert isinstance(dependencies, list)
    for text in dependencies:
        requirement = Requirement(text)
        name = str(canonicalize_name(requirement.name))
        assert name in pins, f"{requirement.name} is not in requirements.lock: refresh it (see the README)"
        version = pins[name][0]
        assert requirement.specifier.contains(version, prereleases=True), f"{name}=={version} breaks {text!r}"
    assert all(hashes and all(len(h) == 64 for h in hashes) for _, hashes in pins.values())


def test_aiohttp_has_the_decompression_bomb_fix() -> None:
    # CVE-2025-69223: auto-decompressed bodies were not size-capped before aiohttp 3.13.3.
    from packaging.requirements import Requirement
    from packaging.version import Version

    (aiohttp,) = [Requirement(t) for t in pyproject()["project"]["dependencies"] if t.startswith("aiohttp")]  # type: ignore[index]
    assert not aiohttp.specifier.contains("3.13.2") and aiohttp.specifier.contains("3.13.3")
    assert Version(locked()["aiohttp"][0]) >= Version("3.13.3")
