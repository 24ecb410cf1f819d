"""The scale-out section of the bench report (bench/scaleout.py, bench/report.py), from given
figures: `--workers 1` and `--workers 2` side by side, in the figures, the Markdown table,
the Targets row (informational) and results.json; and the /proc parsing it relies on.

No server runs here and no timing is asserted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.stats import summarise

from bench import report, scaleout, server
from tests.bench.test_bench_helpers import _results


def _run(workers: int, rps: tuple[float, float], cpu: tuple[float, float], spread: dict[str, int]) -> dict[str, Any]:
    lat = summarise([5.0, 10.0, 40.0])
    return {
        "workers": workers,
        "processes": workers + (1 if workers > 1 else 0),
        "loadavg_before": [1.25, 1.0, 0.5],
        "loadavg_after": [1.75, 1.1, 0.6],
        "send": [
            {
                "concurrency": conc,
                "rps": r,
                "latency": lat,
                "errors": 0,
                "accepted": int(r * 2.5),
                "server_cpu_ms_per_msg": c,
                "postgres_cpu_ms_per_msg": 1.1,
            }
            for conc, r, c in zip(scaleout.LEVELS, rps, cpu, strict=True)
        ],
        "delivery": {
            "rate": 200,
            "offered": 600,
            "accepted": 600,
            "delivered": 598,
            "lost": 2,
            "latency": lat,
            "skipped": 0,
            "errors": 0,
            "receivers_by_worker": spread,
        },
    }


def _scale_out() -> dict[str, Any]:
    runs = [
        _run(1, (400.0, 420.0), (1.5, 1.4), {"101": 64}),
        _run(2, (600.0, 630.0), (1.6, 1.5), {"201": 30, "202": 34}),
    ]
    return {"levels": list(scaleout.LEVELS), "rate": 200, "runs": runs, "compare": scaleout.compare(runs)}


def test_the_two_worker_counts_are_compared_at_each_sender_count() -> None:
    compare = _scale_out()["compare"]
    assert compare["workers"] == 2
    assert compare["throughput_ratio"] == {"20": 1.5, "32": 1.5}
    assert compare["cpu_ratio"] == {"20": 1.067, "32": 1.071}
    assert scaleout.compare([_run(1, (1.0, 1.0), (1.0, 1.0), {})]) == {}


def test_the_figures_show_both_worker_counts_side_by_side() -> None:
    results = {"scale_out": _scale_out()}
    text = "\n".join(report.lines(results))
    assert "`rapport serve --workers 1` | `rapport serve --workers 2`" in text
    assert "scale-out send  20 senders: 1 worker 400 msg/s" in text and "| 2 workers 600 msg/s" in text
    assert "CPU 1.500 ms server + 1.100 ms PostgreSQL /msg" in text and "= 1.50x" in text
    assert "598 of 600 delivered, lost 2 (recipients' sockets per worker 34/30)" in text
    assert "1 worker 1.25 -> 1.75" in text
    assert report.lines({}) == []


def test_the_targets_carry_the_ratio_as_an_informational_row() -> None:
    results = {**_results(), "scale_out": _scale_out()}
    row = next(t for t in report.targets(results) if t["target"].startswith("scale-out"))
    assert row == {
        "target": "scale-out 2 workers / 1 worker (send throughput, 32 senders)",
        "value": 1.5,
        "limit": None,
        "unit": "x",
        "met": None,
        "informational": True,
    }
    assert not any(t["target"].startswith("scale-out") for t in report.targets(_results()))


def test_the_report_on_disk_has_the_section_in_markdown_and_json(tmp_path: Path) -> None:
    results = {**_results(), "scale_out": _scale_out()}
    results["targets"] = report.targets(results)
    report.write(tmp_path, results, {})
    md = (tmp_path / "report.md").read_text()
    assert "| scale-out 2 workers / 1 worker (send throughput, 32 senders) | 1.5 x | — | informational |" in md
    assert "## Scale-out" in md and "| | `--workers 1` | `--workers 2` |" in md
    assert "| send, 32 senders | 420 msg/s | 630 msg/s |" in md
    assert "| delivered / accepted (lost) | 598 / 600 (2) | 598 / 600 (2) |" in md
    assert "| recipients' sockets per worker process | 64 | 34/30 |" in md
    assert "scale-out send  32 senders" in md  # in the figures block too
    saved = json.loads((tmp_path / "results.json").read_text())["scale_out"]
    assert saved["compare"]["throughput_ratio"]["32"] == 1.5
    assert saved["runs"][1]["delivery"]["receivers_by_worker"] == {"201": 30, "202": 34}


TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1
   1: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 2222 1
   2: 0100007F:D431 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 3333 1
   3: 0100007F:1F90 0100007F:D432 06 00000000:00000000 03:00000000 00000000     0        0 0 3
   4: 0100007F:1F91 0100007F:D433 01 00000000:00000000 00:00000000 00000000     0        0 4444 1
"""


def test_established_connections_to_a_port_are_found_in_proc_net_tcp() -> None:
    # Port 8080 = 0x1F90: the listening socket, the client's side and TIME_WAIT are left out.
    assert server.established_inodes(TCP, 8080) == {"2222"}
    assert server.established_inodes(TCP, 8081) == {"4444"}
    assert server.established_inodes("header only\n", 8080) == set()
