"""The progress line's rate and ETA count only this session's answers, not journal or cache hits."""

from __future__ import annotations

import time

from evalkit.execution.progress import Progress


def test_rate_and_eta_leave_out_answers_found_in_the_journal():
    progress = Progress(100, "evaluating", quiet=True)
    started = time.monotonic()
    progress.skip(90)  # resumed: 90 answers were already journaled
    time.sleep(0.2)
    progress.advance(2, tokens=40)
    rate, tps, eta = progress.rates()
    elapsed = time.monotonic() - started
    assert rate <= 2 / 0.2 and rate >= 2 / elapsed * 0.99  # 2 fresh answers over the session, not 92
    assert abs(tps - rate * 20) < 1e-6 * tps
    hours, minutes, seconds = (int(x) for x in eta.split(":"))
    assert hours * 3600 + minutes * 60 + seconds == int(8 / rate)


def test_no_eta_before_the_first_fresh_answer():
    progress = Progress(10, "evaluating", quiet=True)
    progress.skip(3)
    assert progress.rates() == (0.0, 0.0, "-:--:--")
