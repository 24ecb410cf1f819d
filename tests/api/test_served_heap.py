"""A served process moves what it built at start-up out of the garbage collector's reach."""

from __future__ import annotations

import gc
from pathlib import Path

from tests.conftest import make_settings

from rapport.api.app import create_app


async def test_a_served_app_freezes_its_start_up_heap_and_a_test_app_does_not(tmp_path: Path) -> None:
    assert gc.get_freeze_count() == 0
    plain = create_app(make_settings(tmp_path / "plain"))
    async with plain.router.lifespan_context(plain):
        assert gc.get_freeze_count() == 0
    served = create_app(make_settings(tmp_path / "served"), freeze_heap=True)
    try:
        async with served.router.lifespan_context(served):
            assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
