"""The metrics' pure parts: recording into rows, the text format and back, the history ring,
percentiles and rates."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.ops import metrics as ops_metrics
from dockyard.server import metrics as m
from dockyard.server.metrics_history import HistoryFormatError, HistoryWriter, read_history
from dockyard.server.metrics_text import parse, render


def _board_with_traffic() -> m.Board:
    board = m.Board(3)  # two workers and the parent
    first, second, parent = m.Metrics(board, 0), m.Metrics(board, 1), m.Metrics(board, 2)
    for seconds in (0.0003, 0.0004, 0.002):
        first.request("/score", 200, seconds)
        first.run(seconds / 2)
    second.request("/score", 400, 0.0001)
    second.request("/score", 503, 0.1)
    second.waited(0.1)
    second.rejected("overload")
    second.request("/score", 500, 1.5)
    second.timed_out()
    second.request("/nowhere", 404, 0.0001)
    second.request("/health/ready", 200, 0.0001)
    first.init_done(0.25)
    second.init_done(0.5)
    parent.restarted()
    parent.rejected("starting", 2)
    return board


def test_rows_are_summed_and_rendered() -> None:
    text = render(_board_with_traffic(), workers=2, service="svc").decode()
    lines = set(text.splitlines())
    assert 'dockyard_http_requests_total{route="/score",code="2xx"} 3' in lines
    assert 'dockyard_http_requests_total{route="/score",code="4xx"} 1' in lines
    assert 'dockyard_http_requests_total{route="/score",code="5xx"} 2' in lines
    assert 'dockyard_http_requests_total{route="other",code="4xx"} 1' in lines
    assert 'dockyard_http_requests_total{route="/health/ready",code="2xx"} 1' in lines
    assert 'dockyard_http_unavailable_total{route="/score"} 1' in lines
    assert 'dockyard_http_request_duration_seconds_count{route="/score"} 6' in lines
    assert 'dockyard_http_request_duration_seconds_bucket{route="/score",le="0.0005"} 3' in lines
    assert 'dockyard_http_request_duration_seconds_bucket{route="/score",le="+Inf"} 6' in lines
    assert "dockyard_run_duration_seconds_count 3" in lines
    assert 'dockyard_rejected_requests_total{reason="overload"} 1' in lines
    assert 'dockyard_rejected_requests_total{reason="starting"} 2' in lines
    assert "dockyard_scoring_timeouts_total 1" in lines
    assert "dockyard_worker_restarts_total 1" in lines
    assert 'dockyard_init_duration_seconds{worker="0"} 0.25' in lines
    assert 'dockyard_init_duration_seconds{worker="1"} 0.5' in lines
    assert "dockyard_init_calls_total 2" in lines
    assert any(line.startswith('dockyard_build_info{version="') for line in lines)
    assert 'service_name="svc"} 1' in text
    for line in text.splitlines():  # every metric has HELP and TYPE before its samples
        if line.startswith("# TYPE "):
            assert line.split()[3] in ("counter", "gauge", "histogram")


def test_parse_gives_back_the_totals() -> None:
    board = _board_with_traffic()
    back = parse(render(board, workers=2).decode())
    totals = board.totals()
    for offset in range(m.ROW):
        if offset == m.INIT_SECONDS:
            assert back[offset] == pytest.approx(0.75)  # the workers' sum
        else:
            assert back[offset] == pytest.approx(totals[offset]), offset


def test_quantile_interpolates_within_buckets() -> None:
    buckets = [0.0] * m.BUCKETS
    assert m.quantile(buckets, 0.5) is None
    buckets[m.BOUNDS.index(0.001)] = 10  # ten requests in (0.5 ms, 1 ms]
    assert m.quantile(buckets, 0.5) == pytest.approx(0.00075)
    assert m.quantile(buckets, 1.0) == pytest.approx(0.001)
    buckets[-1] = 10  # ten more above the last bound
    assert m.quantile(buckets, 0.99) == m.BOUNDS[-1]


def test_history_ring_wraps_and_continues(tmp_path: Path) -> None:
    board = m.Board(1)
    row = m.Metrics(board)
    path = str(tmp_path / "h" / "ring")
    writer = HistoryWriter(path, board, interval_s=3600.0)  # capacity 2
    assert writer.capacity == 2
    for second in range(5):
        row.request("/score", 200, 0.001)
        writer.sample(now=1000.0 + second)
    writer.close()
    samples = read_history(path)
    assert [t for t, _, _ in samples] == [1003.0, 1004.0]
    assert [totals[0] for _, _, totals in samples] == [4.0, 5.0]
    assert read_history(path, since=1004.0)[0][0] == 1004.0
    again = HistoryWriter(path, board, interval_s=3600.0)  # a restarted server continues
    again.sample(now=1005.0)
    again.close()
    assert [t for t, _, _ in read_history(path)] == [1004.0, 1005.0]
    os.truncate(path, 10)
    with pytest.raises(HistoryFormatError, match="too short"):
        read_history(path)


def test_rates_treat_a_lower_counter_as_a_restart() -> None:
    before = [0.0] * m.ROW
    after = [0.0] * m.ROW
    before[m.REQUESTS] = 100.0
    after[m.REQUESTS] = 30.0  # restarted, then 30 answers
    after[m.REQUESTS + 3] = 10.0  # 10 5xx, 4 of them 503
    after[m.SCORE_503] = 4.0
    delta = ops_metrics._delta(before, after)
    assert delta[m.REQUESTS] == 30.0
    rates = ops_metrics._status_rates(delta, 10.0)
    assert rates == {"2xx": 3.0, "4xx": 0.0, "5xx": 0.6, "503": 0.4}


def test_metrics_setting() -> None:
    assert m.enabled({})
    assert not m.enabled({"DOCKYARD_METRICS": "0"})
    assert not m.enabled({"DOCKYARD_METRICS": "off"})
    assert m.enabled({"DOCKYARD_METRICS": "1"})


def test_the_grafana_dashboard_uses_only_exported_metrics() -> None:
    import json  # reason: only this test reads JSON
    import re  # reason: only this test parses expressions

    dashboard = json.loads(
        (Path(__file__).resolve().parents[3] / "docs" / "grafana-dashboard.json").read_text()
    )
    exported = {
        line.split()[2]
        for line in render(m.Board(2), workers=1).decode().splitlines()
        if line.startswith("# TYPE ")
    }
    names = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            names.update(re.findall(r"\b(dockyard_[a-z_]+)", target["expr"]))
    assert names
    for name in names:
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in exported or base in exported, name


def test_the_start_time_is_exported_and_read_back() -> None:
    from dockyard.server.metrics_text import started_at  # reason: one test needs it

    board = m.Board(1)
    text = render(board, workers=1).decode()
    assert started_at(text) == pytest.approx(board.started, abs=0.001)
    assert started_at("dockyard_workers 1\n") is None
