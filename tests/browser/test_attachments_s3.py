"""The web client's attachment flow on a server whose files live in an S3 bucket (SeaweedFS):
images (thumbnail and full size), and a file download, exactly as on local disk."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.api.live_server import LiveServer, run_server
from tests.browser.conftest import Network, Open
from tests.browser.test_attachments import test_an_image_and_a_pdf_are_sent_shown_and_previewed as image_and_pdf_flow
from tests.conftest import make_settings
from tests.seaweed import S3Place, SeaweedFS, new_place

pytestmark = pytest.mark.browser
T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from sync code, even while Playwright's loop counts as running here."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("browser-s3")


@pytest.fixture(scope="module")
def place(seaweedfs: SeaweedFS) -> S3Place:
    return new_place(seaweedfs, seaweedfs.probe_bucket)


@pytest.fixture(scope="module")
def browser_server(data_dir: Path, place: S3Place) -> Iterator[LiveServer]:
    """This module's server: attachments in the bucket, not under the data directory."""
    with run_server(make_settings(data_dir, **place.settings())) as server:
        yield server


def test_files_in_a_bucket_are_sent_shown_and_downloaded(
    net: Network, open_app: Open, place: S3Place, data_dir: Path
) -> None:
    image_and_pdf_flow(net, open_app)
    objects = run(place.objects("blobs/"))
    assert len([k for k in objects if not k.endswith(".thumb")]) == 2  # the PNG and the PDF
    assert len([k for k in objects if k.endswith(".thumb")]) == 1  # the image's thumbnail, made when shown
    assert [p for p in (data_dir / "attachments").rglob("*") if p.is_file()] == []
