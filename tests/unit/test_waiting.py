"""``eventually``: an assertion inside the check means "not yet", and the last one is what
a timeout reports."""

from __future__ import annotations

import pytest

from tests.utils.waiting import eventually


async def test_a_check_that_asserts_is_retried_until_it_holds() -> None:
    calls = 0

    async def third_time_lucky() -> int:
        nonlocal calls
        calls += 1
        assert calls >= 3, f"only {calls} calls"
        return calls

    assert await eventually(third_time_lucky, timeout=5, interval=0) == 3


async def test_a_timeout_reports_the_last_assertion_with_its_message() -> None:
    calls = 0

    async def never() -> bool:
        nonlocal calls
        calls += 1
        assert calls < 0, f"status was {calls}"
        return True

    with pytest.raises(AssertionError) as raised:
        await eventually(never, timeout=0.2, interval=0.01)
    assert f"status was {calls}" in str(raised.value) and calls > 1
    assert isinstance(raised.value.__cause__, AssertionError)


async def test_a_falsy_result_times_out_with_the_last_result() -> None:
    async def empty() -> list[int]:
        return []

    with pytest.raises(AssertionError, match=r"within 0.1s \(last: \[\]\)"):
        await eventually(empty, timeout=0.1, interval=0.01)


async def test_other_errors_fail_at_once() -> None:
    calls = 0

    async def broken() -> bool:
        nonlocal calls
        calls += 1
        raise RuntimeError("the process exited")

    with pytest.raises(RuntimeError, match="the process exited"):
        await eventually(broken, timeout=5)
    assert calls == 1
