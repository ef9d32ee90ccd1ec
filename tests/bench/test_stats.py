"""The bench's Median: a repeatable step timed three times, its figure the middle run."""
from bench.stats import Median


def test_a_median_is_the_middle_run_and_keeps_the_last_result():
    calls = []

    def step(word):
        calls.append(word)
        sum(range(20_000 * len(calls)))  # each run does more work than the one before
        return len(calls)

    timed = Median(step, "preview")
    assert calls == ["preview"] * 3
    assert timed.result == 3
    assert len(timed.runs) == 3
    assert timed.seconds == sorted(timed.runs)[1]
    assert min(timed.runs) <= timed.seconds <= max(timed.runs)
    assert timed.cpu >= 0
