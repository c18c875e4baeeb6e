"""The per-connection message-rate bucket, with a clock the test controls."""

from __future__ import annotations

import pytest

from conformance.server import Limits
from conformance.server.limits import TokenBucket


def test_a_burst_is_served_at_once_then_frames_wait_their_turn():
    bucket = TokenBucket(rate=10, burst=3, now=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == pytest.approx(0.1)
    assert bucket.take(0.0) == pytest.approx(0.2)


def test_the_bucket_refills_with_time_but_never_above_the_burst():
    bucket = TokenBucket(rate=10, burst=2, now=0.0)
    bucket.take(0.0), bucket.take(0.0)
    assert bucket.take(0.1) == 0.0
    assert [bucket.take(100.0) for _ in range(2)] == [0.0, 0.0]
    assert bucket.take(100.0) == pytest.approx(0.1)


def test_frames_over_sixteen_times_the_limit_are_left_to_the_transport():
    assert Limits(max_frame_bytes=1000).transport_max_bytes == 16000
