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
