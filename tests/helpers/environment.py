"""What a test needs from the machine: a free loopback port, and the rule for what is missing."""

import os
import socket

import pytest


def missing(message: str):
    """Skip for what a developer may lack; fail on CI (`$CI` set), where .ci/run provides it."""
    if os.environ.get("CI"):
        pytest.fail(f"{message} (.ci/run should have provided it)")
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
