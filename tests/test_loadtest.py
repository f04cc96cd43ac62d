"""The load test's bookkeeping: percentiles, errors, rejected and stale reads."""

from __future__ import annotations

from bench.loadtest import Phase, View, markdown, summarize


def _phase() -> Phase:
    phase = Phase(sessions=2, seconds=60)
    phase.views = [
        View(0, "登录", 0.0, 1.0),
        View(0, "总览", 1.0, 0.5),
        View(0, "诉求与澄清", 2.0, 0.7, petitions_shown=508),
        View(1, "诉求与澄清", 20.0, 0.9, petitions_shown=508),  # after import + 5 s: stale
        View(1, "诉求与澄清", 30.0, 0.8, petitions_shown=511),
        View(1, "考核质量", 31.0, 2.5, busy=True),
        View(1, "班子分层", 32.0, 61.0, error="TimeoutError"),
    ]
    phase.writes = [{"command": "import", "exit": 0, "seconds": 1.0, "finished": 10.0}]
    return phase


def test_summary_counts_errors_busy_and_stale_reads() -> None:
    result = summarize(_phase())
    assert result["page_views"] == 6
    assert result["errors"] == 1
    assert result["rejected_reads"] == 1
    assert result["stale_reads"] == 1
    assert result["per_page"]["诉求与澄清"]["views"] == 3
    assert result["p50_s"] == 0.8  # errors are not timed
    assert "finished" not in result["writes"][0]


def test_markdown_states_the_sessions_one_process_holds() -> None:
    result = summarize(_phase())
    result |= {
        "generated_at": "t",
        "steps": [],
        "max_sessions_p95_under_3s": 10,
        "machine_cores": 2,
    }
    assert "**10**" in markdown(result)


def test_replicas_markdown_states_sessions_held_and_ratio() -> None:
    from bench.loadtest import markdown_replicas

    step = {"sessions": 4, "p95_s": 2.1, "errors": 0}
    result = {
        "generated_at": "2026-12-01T00:00:00",
        "machine_cores": 2,
        "by_processes": {
            "1": {
                "sessions_held_p95_under_3s": 2,
                "steps": [step],
                "server_cpu_s_per_warm_view": {"总览": {"cpu_s_median": 0.2}},
            },
            "2": {
                "sessions_held_p95_under_3s": 4,
                "steps": [step],
                "server_cpu_s_per_warm_view": {},
            },
        },
        "ratio_2_to_1": 2.0,
    }
    text = markdown_replicas(result)
    assert "| 2 | 4 |" in text and "2.0×" in text and "0.2" in text
