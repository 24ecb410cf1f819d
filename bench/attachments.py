"""The attachment phase: upload and download throughput through the app, and the server's memory
while it receives 25 MB files (it streams them: it must not hold a file in memory).

One client in the bench's own process, one request at a time (a single stream's throughput,
not the server's aggregate), random bytes so no two files share a blob. MB = 10^6 bytes.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import httpx

from bench.server import Server

SIZES = {"1 MB": 1_000_000, "25 MB": 25_000_000}


class PeakRss:
    """Samples the server's RSS every 10 ms in a thread, between `with` and its end."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.server.rss_mb())
            self._stop.wait(0.01)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def measure(
    server: Server, *, conversation_id: str, uploader: str, reader: str, counts: dict[str, int]
) -> dict[str, Any]:
    """Upload `counts[size]` files of each size as `uploader`, attach them, download them as `reader`."""
    up = {"Authorization": f"Bearer {uploader}"}
    down = {"Authorization": f"Bearer {reader}"}
    out: dict[str, Any] = {}
    with httpx.Client(base_url=server.base, timeout=120) as http:
        for label, size in SIZES.items():
            n = counts[label]
            ids: list[str] = []
            upload_s = 0.0
            time.sleep(0.5)
            rss_before = server.rss_mb()
            with PeakRss(server) as peak:
                for _ in range(n):
                    data = b"OggS" + os.urandom(size - 4)  # a kind the server takes (audio/ogg)
                    began = time.perf_counter()
                    r = http.post("/api/v1/attachments", files={"file": ("bench.ogg", data, "audio/ogg")}, headers=up)
                    upload_s += time.perf_counter() - began
                    if r.status_code != 201:
                        raise RuntimeError(f"upload answered {r.status_code}: {r.text[:200]}")
                    ids.append(r.json()["attachment"]["id"])
                    del data
            for i in range(0, len(ids), 10):
                r = http.post(
                    f"/api/v1/conversations/{conversation_id}/messages",
                    json={"body": "bench attachments", "attachments": ids[i : i + 10]},
                    headers=up,
                )
                if r.status_code != 201:
                    raise RuntimeError(f"attaching answered {r.status_code}: {r.text[:200]}")
            download_s = 0.0
            received = 0
            for attachment_id in ids:
                began = time.perf_counter()
                with http.stream("GET", f"/api/v1/attachments/{attachment_id}", headers=down) as r:
                    if r.status_code != 200:
                        raise RuntimeError(f"download answered {r.status_code}")
                    for chunk in r.iter_bytes():
                        received += len(chunk)
                download_s += time.perf_counter() - began
            if received != n * size:
                raise RuntimeError(f"downloaded {received} bytes of {n * size}")
            out[label] = {
                "files": n,
                "upload_mb_s": round(n * size / 1e6 / upload_s, 1),
                "download_mb_s": round(n * size / 1e6 / download_s, 1),
                "upload_ms_each": round(1000 * upload_s / n, 1),
                "download_ms_each": round(1000 * download_s / n, 1),
                "rss_before_mb": round(rss_before, 1),
                "rss_peak_mb": round(peak.peak, 1),
                "rss_growth_mb": round(peak.peak - rss_before, 1),
            }
    return out
