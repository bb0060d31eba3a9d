"""Test and demo machinery that ships with the package but never runs in the operator.

- `testkit.emulator`: a Kubernetes API emulator (aiohttp) the e2e tests, the demo and the real `kubectl` run
  against (server-side Tables, OpenAPI, strict field validation, watches, RBAC).
- `testkit.github` (+ `testkit.github_payloads`): a GitHub REST API stand-in whose payloads githubkit's models
  accept, for the forge and pull-request tests.
- `testkit.demo`: the offline demo behind `fluxcd-helm-upgrader demo` (chart server, seeded Git fleet, the local
  cluster that runs the real operator, kubectl tables).

No product module imports this package: an import-linter contract in pyproject.toml holds that, with one
exception, the `demo` command in `cli`, which imports `testkit.demo.running` inside the function that runs it
(tests/unit/testkit/test_isolation.py proves the operator's modules load without it).
"""
