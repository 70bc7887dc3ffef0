"""``ashiguard bench soak`` runs and prints its results (numbers are never asserted)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


def test_bench_soak_runs_a_few_seconds_and_reports_errors_frames_lost_page_p99_and_memory(
    run_cli, monkeypatch
):
    monkeypatch.setenv("ASHIGUARD_SOAK_SECONDS", "3")
    r = run_cli("bench", "soak", "--json")
    assert r.returncode == 0, r.stderr
    results = {x["name"]: x for x in json.loads(r.stdout)["results"]}
    assert set(results) == {
        "soak_errors",
        "soak_frames_lost",
        "soak_page_p99_ms",
        "soak_server_rss_start_mb",
        "soak_server_rss_end_mb",
        "soak_server_rss_growth_pct",
    }
    assert "8 sessions x 100 Hz + 50 users, 3 s" in results["soak_errors"]["detail"]
    assert results["soak_server_rss_start_mb"]["unit"] == "MB"
