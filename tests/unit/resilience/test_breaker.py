"""A provider failing repeatedly is skipped for a cool-down, then probed by one request."""

from __future__ import annotations

from olga_cli.gateway.upstream.breaker import Breakers

COOL = 30.0


def fail(breakers: Breakers, times: int, now: float = 0.0) -> None:
    for _ in range(times):
        breakers.failure("p", now=now, threshold=3)


def test_the_circuit_opens_after_the_threshold_of_failures_in_a_row() -> None:
    breakers = Breakers()
    fail(breakers, 2)
    assert breakers.admit("p", now=0, cooldown=COOL) == "pass"
    breakers.success("p")  # a success in between starts the count again
    fail(breakers, 2)
    assert breakers.admit("p", now=0, cooldown=COOL) == "pass"
    fail(breakers, 1, now=10)
    assert breakers.state("p", now=11, cooldown=COOL) == "open"
    assert breakers.admit("p", now=11, cooldown=COOL) == "skip"
    assert breakers.retry_in("p", now=11, cooldown=COOL) == 29
    assert breakers.admit("other", now=11, cooldown=COOL) == "pass"  # per provider


def test_after_the_cool_down_one_probe_goes_through_and_its_success_closes_the_circuit() -> None:
    breakers = Breakers()
    fail(breakers, 3)
    assert breakers.admit("p", now=COOL, cooldown=COOL) == "probe"
    assert breakers.admit("p", now=COOL, cooldown=COOL) == "skip"  # only one probe at a time
    breakers.success("p")
    assert breakers.admit("p", now=COOL, cooldown=COOL) == "pass"


def test_a_failed_probe_opens_the_circuit_for_another_cool_down() -> None:
    breakers = Breakers()
    fail(breakers, 3)
    assert breakers.admit("p", now=COOL, cooldown=COOL) == "probe"
    breakers.failure("p", now=COOL, threshold=3)
    assert breakers.admit("p", now=COOL + 1, cooldown=COOL) == "skip"
    assert breakers.admit("p", now=2 * COOL, cooldown=COOL) == "probe"


def test_a_probe_without_a_verdict_lets_another_request_probe() -> None:
    breakers = Breakers()
    fail(breakers, 3)
    assert breakers.admit("p", now=COOL, cooldown=COOL) == "probe"
    breakers.release("p")
    assert breakers.admit("p", now=COOL, cooldown=COOL) == "probe"


def test_one_callers_failures_open_only_its_own_circuit() -> None:
    """A provider answering one key's (malformed) requests with 500s stays open for every other key."""
    breakers = Breakers()
    for _ in range(5):
        breakers.failure("p", now=0, threshold=3, caller="mallory")
    assert breakers.admit("p", now=1, cooldown=COOL, caller="mallory") == "skip"
    assert breakers.retry_in("p", now=1, cooldown=COOL, caller="mallory") == COOL - 1
    assert breakers.admit("p", now=1, cooldown=COOL, caller="alice") == "pass"
    assert breakers.state("p", now=1, cooldown=COOL) == "closed"


def test_failures_in_a_row_from_two_callers_open_the_provider_for_everyone() -> None:
    breakers = Breakers()
    for caller in ("alice", "bob", "alice"):
        breakers.failure("p", now=0, threshold=3, caller=caller)
    assert breakers.admit("p", now=1, cooldown=COOL, caller="carol") == "skip"
    assert breakers.admit("p", now=COOL, cooldown=COOL, caller="carol") == "probe"
    breakers.success("p", "carol")
    assert breakers.admit("p", now=COOL, cooldown=COOL, caller="dave") == "pass"


def test_a_success_in_between_resets_the_run_of_callers() -> None:
    breakers = Breakers()
    breakers.failure("p", now=0, threshold=2, caller="alice")
    breakers.success("p", "alice")
    breakers.failure("p", now=0, threshold=2, caller="bob")
    assert breakers.state("p", now=1, cooldown=COOL) == "closed"
