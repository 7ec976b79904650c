"""The one backoff: the delays the store, the VPP client and the scheduler's retries wait."""

from __future__ import annotations

import itertools

from contivpy.backoff import Backoff
from contivpy.scheduler import RetryPolicy


def test_delays_grow_by_the_factor_up_to_the_cap() -> None:
    delays = Backoff(initial=0.5, factor=3.0, maximum=10.0, jitter=0.0).delays()
    assert list(itertools.islice(delays, 5)) == [0.5, 1.5, 4.5, 10.0, 10.0]


def test_delay_of_an_attempt_is_the_iterator_s_delay_without_jitter() -> None:
    backoff = Backoff(initial=0.1, factor=2.0, maximum=1.0, jitter=0.0)
    expected = list(itertools.islice(backoff.delays(), 8))
    assert [backoff.delay(n) for n in range(1, 9)] == expected


def test_jitter_stays_within_its_fraction_of_each_delay() -> None:
    backoff = Backoff(initial=1.0, factor=2.0, maximum=4.0, jitter=0.25)
    for delay, plain in zip(backoff.delays(), [1.0, 2.0] + [4.0] * 200, strict=False):
        assert plain * 0.75 <= delay <= plain * 1.25


def test_an_attempt_far_past_the_cap_waits_the_cap() -> None:
    assert Backoff(initial=1.0, factor=2.0, maximum=30.0).delay(5000) == 30.0


def test_the_scheduler_retries_after_one_then_two_then_four_seconds_by_default() -> None:
    policy = RetryPolicy()
    assert (policy.period, policy.backoff, policy.max_attempts) == (1.0, 2.0, 3)
    assert [policy.delay(n) for n in (1, 2, 3)] == [1.0, 2.0, 4.0]


def test_a_retry_policy_has_no_cap() -> None:
    assert RetryPolicy(period=0.5, backoff=10.0).delay(6) == 0.5 * 10.0**5
