"""In-memory stand-ins for the services the operator's layers call, shared by the unit tests.

`FakeSecrets` answers `read_namespaced_secret` like kubernetes_asyncio's CoreV1Api (a 404 for a Secret it does not
hold). `FakeForge` implements `forges.base.Forge` over a list of pull requests and records every call, so a test
asserts the PR a user would see. `FakeProposals` keeps UpgradeProposals the way `proposals.store.ProposalStore`
reads and writes them (JSON merge patches on spec and status, as the emulator applies them; a 409 for a name
taken). `Events` records what
`kube_events.post` was asked to post, as (object name, type, reason, message).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any

import pytest
from kubernetes_asyncio.client.exceptions import ApiException

from fluxcd_helm_upgrader import kube_events
from fluxcd_helm_upgrader.forges import base
from fluxcd_helm_upgrader.structs import kinds
from fluxcd_helm_upgrader.testkit.emulator import patching
from tests import builders


class FakeSecrets:
    def __init__(self, secrets: dict[tuple[str, str], dict[str, bytes]]) -> None:
        self.secrets = secrets

    async def read_namespaced_secret(self, name: str, namespace: str) -> Any:
        if (namespace, name) not in self.secrets:
            error = Exception("not found")
            error.status = 404  # type: ignore[attr-defined]
            raise error
        return {"data": builders.secret_data(self.secrets[(namespace, name)])}


class FakeForge:
    """A `forges.base.Forge` over `pulls`; `failures` maps a method name to the ForgeError it raises."""

    def __init__(self, *pulls: base.PullRequest, failures: Mapping[str, base.ForgeError] | None = None) -> None:
        self.pulls = list(pulls)
        self.requests: list[base.PullRequestRequest] = []  # what open_or_update was asked for, in order
        self.calls: list[str] = []
        self.comments: list[tuple[int, str]] = []  # (PR number, body) of every comment, in order
        self.failures = dict(failures or {})

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if name in self.failures:
            raise self.failures[name]

    async def find_pull_request(self, branch: str) -> base.PullRequest | None:
        self._call("find_pull_request")
        mine = [p for p in self.pulls if p.head_branch == branch]
        opened = [p for p in mine if p.state == "open"]
        return (opened or mine[::-1] or [None])[0]

    async def open_pull_requests(self, prefix: str) -> dict[str, base.PullRequest]:
        self._call("open_pull_requests")
        return {p.head_branch: p for p in self.pulls if p.state == "open" and p.head_branch.startswith(prefix)}

    async def open_or_update(self, request: base.PullRequestRequest) -> base.PullRequestResult:
        self._call("open_or_update")
        self.requests.append(request)
        for index, pull in enumerate(self.pulls):
            if pull.head_branch == request.head and pull.state == "open":
                self.pulls[index] = dataclasses.replace(pull, title=request.title)
                return base.PullRequestResult("updated", self.pulls[index])
        number = max((p.number for p in self.pulls), default=0) + 1
        pull = base.PullRequest(number, f"https://github.test/acme/fleet/pull/{number}", "open", request.head,
                                request.title)  # fmt: skip
        self.pulls.append(pull)
        return base.PullRequestResult("created", pull)

    async def comment(self, number: int, body: str) -> None:
        self._call("comment")
        self.comments.append((number, body))

    async def get(self, number: int) -> base.PullRequest:
        self._call("get")
        for pull in self.pulls:
            if pull.number == number:
                return pull
        raise base.ForgeError(f"pull request #{number} not found", "not_found", status=404)

    async def close(self) -> None:
        pass


class FakeProposals:
    """UpgradeProposals by (namespace, name), with the surface of `proposals.store.ProposalStore`."""

    def __init__(self, *bodies: Mapping[str, Any]) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.writes: list[tuple[str, str]] = []  # (verb, name) of every write, in order
        for body in bodies:
            self.objects[(body["metadata"]["namespace"], body["metadata"]["name"])] = copy.deepcopy(dict(body))

    async def list_in_namespace(self, namespace: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(b) for (ns, _), b in self.objects.items() if ns == namespace]

    async def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        body = self.objects.get((namespace, name))
        return copy.deepcopy(body) if body is not None else None

    async def create(
        self, namespace: str, name: str, spec: Mapping[str, Any], owner: Mapping[str, Any]
    ) -> dict[str, Any]:
        if (namespace, name) in self.objects:
            raise ApiException(status=409, reason="Conflict")
        self.writes.append(("create", name))
        body = builders.upgrade_proposal(name=name, namespace=namespace, config=str(owner["name"]),
                                         owner=(str(owner["name"]), str(owner["uid"])), status={})  # fmt: skip
        body["spec"] = copy.deepcopy(dict(spec))
        del body["status"]
        self.objects[(namespace, name)] = body
        return copy.deepcopy(body)

    async def patch_spec(self, namespace: str, name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        self.writes.append(("patch_spec", name))
        key = (namespace, name)
        body = self.objects[key] = patching.merge_patch(self.objects[key], {"spec": spec})
        body["metadata"]["generation"] = int(body["metadata"].get("generation") or 0) + 1
        return copy.deepcopy(body)

    async def patch_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> dict[str, Any]:
        self.writes.append(("patch_status", name))
        key = (namespace, name)
        body = self.objects[key] = patching.merge_patch(self.objects[key], {"status": status})
        return copy.deepcopy(body)

    async def delete(self, namespace: str, name: str) -> None:
        self.writes.append(("delete", name))
        self.objects.pop((namespace, name), None)

    def status(self, name: str, namespace: str = builders.FLUX_NAMESPACE) -> dict[str, Any]:
        return dict(self.objects[(namespace, name)].get("status") or {})


class Events:
    """Replaces `kube_events.post` for a test; `posted` holds (object name, type, reason, message)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.posted: list[tuple[str, str, str, str]] = []

        async def post(api: object, body: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
            assert body.get("kind") in (kinds.UPGRADE_PROPOSAL.kind, kinds.UPGRADER_CONFIG.kind), body
            self.posted.append((str(body["metadata"]["name"]), type_, reason, message))

        monkeypatch.setattr(kube_events, "post", post)

    @property
    def reasons(self) -> list[str]:
        return [reason for _, _, reason, _ in self.posted]
