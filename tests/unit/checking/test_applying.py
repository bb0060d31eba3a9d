"""When a proposal counts as Applied: the deployed chart version meets the target."""

import pytest

from fluxcd_helm_upgrader.checking import applying


@pytest.mark.parametrize(
    ("deployed", "target", "expected"),
    [
        ("6.7.1", "6.7.1", True),
        ("6.7.0", "6.7.1", False),
        ("v6.7.1", "6.7.1", True),
        ("7.2.0", "7.x", True),
        ("6.9.0", "7.x", False),
        ("7.0.1", "^7.0.0", True),
        (None, "6.7.1", False),
        ("garbage", "6.7.1", False),
        ("6.7.1", "", False),
    ],
)
def test_runs_target(deployed: str | None, target: str, expected: bool) -> None:
    assert applying.runs_target(deployed, target) is expected
