"""`make loadtest` drives real conversations and reports honest numbers: every failed turn counts."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bot import settings
from tooling import loadtest, loadtest_command
from tooling.ports import free_ports


def test_percentile_is_nearest_rank():
    values = [float(n) for n in range(1, 101)]
    assert [loadtest.percentile(values, q) for q in (50, 95, 99)] == [50.0, 95.0, 99.0]
    assert loadtest.percentile([], 50) == 0.0


def test_replies_that_count_as_errors():
    assert loadtest.reply_problem([]) == "empty reply"
    assert loadtest.reply_problem([{"image": "x.png"}]) == "empty reply"
    assert (
        loadtest.reply_problem([{"text": "Sorry, I'm having a technical problem and can't answer"}])
        == "technical-problem reply"
    )
    assert loadtest.reply_problem([{"text": "Microneedling is a procedure..."}]) is None


def test_buttons_are_pressed_by_preferred_title():
    buttons = [{"title": "Book a consultation", "payload": "/book"}, {"title": "No, thanks", "payload": "/deny"}]
    assert loadtest.next_message(loadtest.Click(["No, thanks"]), buttons) == "/deny"
    assert loadtest.next_message(loadtest.Click(), buttons) == "/book"
    assert loadtest.next_message(loadtest.Click(fallback="no thanks"), []) == "no thanks"
    assert loadtest.next_message("hello", buttons) == "hello"


def test_only_this_machine_can_be_targeted():
    with pytest.raises(SystemExit) as exit_info:
        loadtest_command.main(["--url", "http://example.com:5005", "--users", "1", "--turns", "1"])
    assert exit_info.value.code == 2


def test_a_server_that_is_not_there_is_all_errors_and_exit_code_1(capsys, tmp_path):
    (port,) = free_ports(1)
    png = tmp_path / "latency.png"
    code = loadtest_command.main(
        ["--url", f"http://127.0.0.1:{port}", "--users", "2", "--turns", "2", "--timeout", "5", "--png", str(png)]
    )
    output = capsys.readouterr().out
    assert code == 1
    assert "completed turns: 4/4" in output and "errors: 4" in output
    assert f"latency over time: {png}" in output and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_small_load_against_the_real_servers(bot_url, tmp_path):
    stats_file = tmp_path / "stats.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tooling.loadtest_command",
            "--url",
            bot_url,
            "--users",
            "3",
            "--turns",
            "3",
            "--deadline",
            "300",
            "--json",
            str(stats_file),
            "--png",
            str(tmp_path / "latency.png"),
        ],
        cwd=settings.PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert "throughput:" in result.stdout and "p99" in result.stdout
    stats = json.loads(stats_file.read_text())
    assert (stats["completed_turns"], stats["errors"]) == (9, 0)
    assert 0 < stats["p50_ms"] <= stats["p95_ms"] <= stats["p99_ms"] <= stats["max_ms"]
    assert stats["throughput_per_second"] > 0
    assert (tmp_path / "latency.png").stat().st_size > 10_000, "the latency-over-time chart has no points"


def test_latency_over_time_places_each_turn_when_its_reply_came():
    report = loadtest.LoadReport(1, 3, 3.0, started=100.0)
    report.turns = [
        loadtest.Turn(0.5, finished=101.0),
        loadtest.Turn(2.0, "timeout", finished=102.0),
        loadtest.Turn(1.0, finished=103.0),
    ]
    answered, failed, moving_p95 = report.latency_over_time(window=1.5)
    assert answered == [(1.0, 0.5), (3.0, 1.0)] and failed == [(2.0, 2.0)]
    assert moving_p95 == [(1.0, 0.5), (3.0, 1.0)]
    assert report.latency_over_time(window=5.0)[2] == [(1.0, 0.5), (3.0, 1.0)]
    report.turns.append(loadtest.Turn(0.2, finished=103.5))
    assert report.latency_over_time(window=5.0)[2][-1] == (3.5, 1.0)
    assert report.latency_over_time_png()[:8] == b"\x89PNG\r\n\x1a\n"
