"""The bench's pure helpers: percentiles, summaries, targets and the report on disk.

Timings are never asserted: only that figures are computed and written as described.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from bench.load import open_send_jobs
from bench.stats import add_counts, merge, percentile, ratio, summarise

from bench import report


def test_percentile_interpolates_between_closest_ranks() -> None:
    samples = [4.0, 1.0, 3.0, 2.0]
    assert percentile(samples, 0) == 1.0
    assert percentile(samples, 100) == 4.0
    assert percentile(samples, 50) == pytest.approx(2.5)
    assert percentile([7.0], 99) == 7.0


def test_percentile_of_nothing_is_none_and_p_is_bounded() -> None:
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_summary_has_count_percentiles_mean_and_max() -> None:
    s = summarise(float(i) for i in range(1, 101))
    assert s["count"] == 100
    assert s["p50"] == pytest.approx(50.5)
    assert s["p99"] == pytest.approx(99.01)
    assert s["mean"] == pytest.approx(50.5)
    assert s["max"] == 100.0
    assert summarise([])["p99"] is None


def test_results_from_several_processes_are_merged() -> None:
    parts = [{"latencies_ms": [1.0], "statuses": {201: 2}}, {"latencies_ms": [2.0, 3.0], "statuses": {201: 1, 500: 1}}]
    assert merge(parts) == [1.0, 2.0, 3.0]
    assert add_counts(parts, "statuses") == {"201": 3, "500": 1}
    assert ratio(50.0, 200.0) == 0.25
    assert ratio(None, 200.0) is None


def _results() -> dict[str, object]:
    lat = summarise([1.0, 2.0, 3.0])
    return {
        "name": "test",
        "mode": "quick",
        "started_at": "2026-01-01T00:00:00+00:00",
        "seconds": 12.0,
        "machine": report.machine(),
        "setup": {"workers": 1, "database": "sqlite", "bus": "in-process", "client_processes": 2},
        "dataset": {"members": 10, "conversations": 5, "messages": 20, "events": 40, "seconds": 0.1},
        "ceiling": {"levels": [{"concurrency": 8, "rps": 1000.0, "latency": lat}]},
        "send": {"levels": [{"concurrency": 8, "rps": 600.0, "latency": lat, "ratio_to_ceiling": 0.6, "errors": 0}]},
        "delivery": {"rates": [{"rate": 200, "delivered_per_s": 199.0, "latency": lat, "skipped": 0, "errors": 0}]},
        "live": {"typing": lat, "read": lat},
        "connections": {
            "target": 100,
            "connected": 100,
            "failed": 0,
            "rss_before_mb": 100.0,
            "rss_after_mb": 101.0,
            "kb_per_connection": 10.24,
            "ramp_seconds": 1.0,
            "series": [(0.0, 0, 100.0), (1.0, 100, 101.0)],
        },
        "inbox": {"rps": 100.0, "latency": lat},
        "search": {"available": False, "reason": "GET /api/v1/search answered 404"},
        "insight": {"rps": 50.0, "latency": lat, "sent": 10_000},
        "follow_ups": {"rps": 80.0, "latency": lat, "sent": 10_000},
    }


def test_targets_say_what_is_met_and_what_was_not_measured() -> None:
    checks = {c["target"]: c for c in report.targets(_results())}
    assert checks["send throughput / bare ASGI"]["met"] is True
    assert checks["memory per connection"]["met"] is True
    assert checks["idle WebSockets held"]["met"] is False
    assert checks["search p99 (Zipf vocabulary)"]["met"] is None
    assert checks["search p99 (old 32-word vocabulary)"]["met"] is None
    assert checks["insight p99 (10,000 sent)"]["met"] is True


def test_every_figure_is_printed() -> None:
    text = "\n".join(report.lines(_results()))
    for word in ("ceiling", "send", "delivery", "typing", "receipt", "idle ws", "inbox",
                 "search (Zipf vocabulary) not available", "insight  for a member with 10,000 sent",
                 "follow-ups for a member"):  # fmt: skip
        assert word in text


def test_the_report_is_written_as_json_markdown_and_plots(tmp_path: Path) -> None:
    results = _results()
    results["targets"] = report.targets(results)
    samples = {"delivery @200/s": [1.0, 2.0, 3.0], "typing": [0.5, 0.7]}
    files = report.write(tmp_path / "run", results, samples)
    names = {f.name for f in files}
    assert {"results.json", "report.md"} <= names
    assert json.loads((tmp_path / "run" / "results.json").read_text())["mode"] == "quick"
    md = (tmp_path / "run" / "report.md").read_text()
    assert "## Targets" in md and "CPU:" in md
    for png in (f for f in files if f.suffix == ".png"):
        assert png.stat().st_size > 0
        assert f"]({png.name})" in md


def test_memory_per_connection_is_also_taken_over_the_second_half_of_the_ramp() -> None:
    from bench.run import marginal_kb

    series = [(0.0, 0, 100.0), (1.0, 500, 150.0), (2.0, 1000, 160.0), (3.0, 2000, 180.0)]
    assert marginal_kb(series) == pytest.approx(20 * 1024 / 1000)
    assert marginal_kb([]) is None


def _report(root: Path, name: str, database: str, cpu: dict[int, float]) -> None:
    levels = [{"concurrency": c, "server_cpu_ms_per_msg": ms} for c, ms in cpu.items()]
    (root / name).mkdir(parents=True)
    (root / name / "results.json").write_text(json.dumps({"setup": {"database": database}, "send": {"levels": levels}}))


def test_cpu_per_message_is_printed_beside_the_newest_earlier_report_of_the_same_kind(tmp_path: Path) -> None:
    _report(tmp_path, "full-20261124-182357", "sqlite (temporary data dir)", {8: 1.5, 32: 1.4})
    _report(tmp_path, "full-20261124-201535", "sqlite (temporary data dir)", {8: 2.4, 32: 2.3, 128: 3.0})
    _report(tmp_path, "full-20261125-100000-pg", "postgresql+asyncpg://x/y", {20: 9.0})
    _report(tmp_path, "quick-20261126-100000", "sqlite (temporary data dir)", {20: 7.0})
    _report(tmp_path, "full-20261127-100000", "sqlite (temporary data dir)", {20: 0.1})  # later: not earlier
    prev = report.previous(tmp_path, "full-20261126-120000", "sqlite (temporary data dir)")
    assert prev is not None and prev["report"] == "full-20261124-201535"
    pg = report.previous(tmp_path, "full-20261126-120000", "postgresql+asyncpg://postgres@127.0.0.1/other")
    assert pg is not None and pg["report"] == "full-20261125-100000-pg"
    assert report.previous(tmp_path, "full-20261101-000000", "sqlite") is None

    results = _results()
    results["setup"] = {**results["setup"], "config": {"cpu_senders": 20}}  # type: ignore[dict-item]
    level = {"concurrency": 20, "rps": 500.0, "errors": 0, "server_cpu_ms_per_msg": 1.2}
    results["send"] = {"levels": [{**level, "latency": summarise([3.0])}]}
    results["send_empty"] = {"server_cpu_ms_per_msg": 1.1, "latency": summarise([2.5])}
    cpu = report.cpu_per_message(results, prev)
    assert (cpu["ms"], cpu["empty_db_ms"]) == (1.2, 1.1)
    # The nearest sender count to 20 (the busier on a tie).
    assert cpu["previous"] == {"report": "full-20261124-201535", "senders": 32, "ms": 2.3}
    results["send"]["cpu"] = cpu  # type: ignore[index]
    text = "\n".join(report.lines(results))
    assert "1.200 ms of server CPU per accepted message" in text and "full-20261124-201535: 2.300 ms" in text
    assert "1.100 ms per message (send p50 2.50 ms) on an empty database" in text
    assert report.cpu_per_message(results, None)["previous"] is None


def test_the_search_vocabulary_is_zipf_distributed() -> None:
    import random

    from bench import dataset

    assert len(set(dataset.VOCABULARY)) == len(dataset.VOCABULARY) >= 3_000
    assert not set(dataset.VOCABULARY) & set(dataset.WORDS)
    rng = random.Random(3)
    counts: dict[str, int] = {}
    for _ in range(4_000):
        for w in dataset.zipf_words(rng):
            counts[w] = counts.get(w, 0) + 1
    top, tenth = counts[dataset.VOCABULARY[0]], counts[dataset.VOCABULARY[9]]
    assert 5 < top / tenth < 20  # 1/k: the first word about ten times the tenth
    assert len(dataset.ZIPF_SEARCH_TERMS) == len(set(dataset.ZIPF_SEARCH_TERMS))


def test_the_sponsored_phase_is_printed_and_checked_against_its_targets() -> None:
    results = _results()
    results["sponsored"] = {
        "audience_size": 100_000,
        "delivered": 99_000,
        "skipped": 1_000,
        "state": "sent",
        "seconds": 40.0,
        "recipients_per_s": 2_500.0,
        "server_cpu_ms_per_recipient": 0.2,
        "recipients_per_server_cpu_s": 5_000.0,
        "sends_during": {
            "concurrency": 8,
            "rps": 200.0,
            "latency": {**summarise([10.0, 20.0, 60.0]), "p99": 60.0},
            "errors": 0,
            "overlapped_delivery": True,
        },
        "rss_before_mb": 100.0,
        "rss_peak_mb": 104.0,
    }
    text = "\n".join(report.lines(results))
    assert "sponsor  100,000 members: 2,500 recipients/s" in text and "sends meanwhile, 8 senders" in text
    checks = {c["target"]: c for c in report.targets(results)}
    assert checks["sponsored delivery (SQLite, one process)"]["met"] is True
    assert checks["send p99 during sponsored delivery"]["met"] is False
    unmeasured = {c["target"]: c for c in report.targets(_results())}
    assert unmeasured["sponsored delivery (SQLite, one process)"]["met"] is None  # neither met nor missed


def test_idle_socket_cpu_is_given_whole_and_without_the_servers_own() -> None:
    results = _results()
    results["connections"] = {
        **results["connections"],  # type: ignore[dict-item]
        "cpu_us_per_connection_s": 2.2,
        "idle_cpu_window_s": 25.0,
        "server_idle_cpu_ms_s": 1.8,
        "cpu_us_per_connection_s_marginal": 1.3,
    }
    text = "\n".join(report.lines(results))
    assert "server CPU 2.20 µs per connection per second" in text
    assert "1.30 µs once the server's own 1.80 ms a second without them is taken out" in text


def test_open_send_processes_interleave_their_schedules() -> None:
    """Two processes at 12.5 msg/s each send every 40 ms between them, not two at once every 80 ms."""
    senders = [(1, "a"), (2, "b"), (3, "c")]
    jobs = open_send_jobs("http://x", 25, 1_000_000_000, 3.0, senders, 2)
    due = sorted(j["start_at"] + int(i * 1e9 / j["rate"]) for j in jobs for i in range(int(j["rate"] * j["duration"])))
    gaps = {b - a for a, b in itertools.pairwise(due)}
    assert len(due) == 74 and gaps == {40_000_000}
    assert [j["senders"] for j in jobs] == [[(1, "a"), (3, "c")], [(2, "b")]]
