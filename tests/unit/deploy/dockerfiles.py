"""A small Dockerfile and .dockerignore reader for the offline image checks (no Docker engine here).

Used by test_dockerfile.py. It understands what our Dockerfile uses: comments and parser directives, line
continuations, JSON and shell forms, `ARG` defaults substituted into `FROM`, stages (`FROM ... AS name`), and
.dockerignore's ordered patterns with `!` exceptions and `**`, where a pattern that matches a directory also
matches everything below it (moby's patternmatcher semantics).
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import PurePosixPath


@dataclass(frozen=True)
class Instruction:
    """One instruction: upper-cased keyword, its raw argument text, and the line it starts on."""

    keyword: str
    args: str
    line: int

    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form instruction (ENTRYPOINT ["a", "b"]), or None for shell form."""
        text = self.args.strip()
        if not text.startswith("["):
            return None
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            return None
        return [str(item) for item in value] if isinstance(value, list) else None

    def flags(self) -> dict[str, str]:
        """Leading `--name=value` flags (COPY --from=builder ...)."""
        found: dict[str, str] = {}
        for word in shlex.split(self.args):
            if not word.startswith("--"):
                break
            name, _, value = word[2:].partition("=")
            found[name] = value
        return found

    def words(self) -> list[str]:
        """The arguments split like a shell would, flags removed."""
        return [word for word in shlex.split(self.args) if not word.startswith("--")]


@dataclass(frozen=True)
class Stage:
    """A build stage: its base image reference (ARGs substituted), its name, its instructions."""

    base: str
    name: str | None
    instructions: tuple[Instruction, ...] = field(default=())

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None


@dataclass(frozen=True)
class Dockerfile:
    global_args: dict[str, str]
    stages: tuple[Stage, ...]

    @property
    def final(self) -> Stage:
        return self.stages[-1]


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Join continuation lines and drop comments; keep the first line number of each instruction."""
    out: list[tuple[int, str]] = []
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        # Comments (and parser directives, which look like comments) and blank lines are dropped even inside a
        # continuation, as Docker does.
        if stripped.startswith("#") or not stripped:
            continue
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer.append(stripped[:-1].strip())
            continue
        buffer.append(stripped)
        out.append((start, " ".join(part for part in buffer if part)))
        buffer = []
    if buffer:
        out.append((start, " ".join(buffer)))
    return out


def substitute(text: str, values: dict[str, str]) -> str:
    """Expand $NAME and ${NAME} from `values` (unknown names become empty, as in Docker)."""
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: values.get(m.group(1) or m.group(2), ""), text)


def parse(text: str) -> Dockerfile:
    """Parse a Dockerfile into global ARGs and stages."""
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    current: list[Instruction] | None = None
    for line, logical in logical_lines(text):
        keyword, _, args = logical.partition(" ")
        instruction = Instruction(keyword.upper(), args.strip(), line)
        if instruction.keyword == "FROM":
            if current is not None:
                stages[-1] = Stage(stages[-1].base, stages[-1].name, tuple(current))
            words = instruction.words()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(substitute(words[0], global_args), name))
            current = []
        elif current is None:
            if instruction.keyword != "ARG":
                raise ValueError(f"line {line}: only ARG may come before the first FROM, not {keyword}")
            arg_name, _, default = instruction.args.partition("=")
            global_args[arg_name.strip()] = default.strip()
        else:
            current.append(instruction)
    if current is not None:
        stages[-1] = Stage(stages[-1].base, stages[-1].name, tuple(current))
    return Dockerfile(global_args, tuple(stages))


@dataclass(frozen=True)
class ImageRef:
    """An image reference split into repository, tag and digest."""

    repository: str
    tag: str | None
    digest: str | None


def image_ref(reference: str) -> ImageRef:
    name, _, digest = reference.partition("@")
    # A colon after the last slash is a tag; one before it belongs to a registry host:port.
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return ImageRef(name[:colon], name[colon + 1 :], digest or None)
    return ImageRef(name, None, digest or None)


def apt_installed(stage: Stage) -> set[str]:
    """Packages named by `apt-get install` (or `apt install`) in a stage's RUN instructions."""
    packages: set[str] = set()
    for run in stage.all("RUN"):
        for command in re.split(r"&&|;|\|\|", run.args):
            words = shlex.split(command)
            if len(words) >= 2 and words[0] in ("apt-get", "apt") and "install" in words:
                after = words[words.index("install") + 1 :]
                packages.update(word for word in after if not word.startswith("-"))
    return packages


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


@dataclass(frozen=True)
class DockerIgnore:
    """Ordered (exception, regex) patterns; the last pattern that matches a path or a parent of it wins."""

    patterns: tuple[tuple[bool, re.Pattern[str]], ...]

    @classmethod
    def parse(cls, text: str) -> DockerIgnore:
        patterns: list[tuple[bool, re.Pattern[str]]] = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            negated = line.startswith("!")
            cleaned = str(PurePosixPath(line.lstrip("!").strip().strip("/")))
            patterns.append((negated, _pattern_regex(cleaned)))
        return cls(tuple(patterns))

    def excluded(self, path: str) -> bool:
        """Whether `path` (relative to the context root, '/'-separated) is left out of the build context."""
        parts = PurePosixPath(path).parts
        candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        result = False
        for negated, regex in self.patterns:
            if any(regex.match(candidate) for candidate in candidates):
                result = not negated
        return result
