"""Provider keys in turn; a rate-limited key rests, a rejected key is set aside; health in the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from olga_cli.config import KeySource, ProviderConfig
from olga_cli.errors import NoActiveKeys
from olga_cli.gateway.upstream.keypool import KeyPools
from olga_cli.store.db import open_store

POOL = ProviderConfig(
    name="p",
    kind="openai",
    base_url="http://127.0.0.1:9/v1",
    keys=(
        KeySource("key-1", value="sk-one"),
        KeySource("key-2", value="sk-two"),
        KeySource("env:K3", env="K3"),
    ),
)


def labels(pools: KeyPools, n: int, now: float = 0.0) -> list[str]:
    picks = [pools.pick(POOL, now=now) for _ in range(n)]
    return [k.label for k in picks if k is not None]


def test_keys_are_used_in_turn_and_an_unset_env_key_is_left_out() -> None:
    assert labels(KeyPools({}), 4) == ["key-1", "key-2", "key-1", "key-2"]
    assert labels(KeyPools({"K3": "sk-three"}), 3) == ["key-1", "key-2", "env:K3"]


def test_a_rate_limited_key_rests_while_the_others_carry_on() -> None:
    pools = KeyPools({})
    key = pools.pick(POOL, now=0)
    assert key is not None
    extra = pools.rate_limited("p", key, now=100.0, rest=20.0, reason="429")
    assert extra is not None and "sk-one" not in repr(extra.params)
    assert set(labels(pools, 3, now=110.0)) == {"key-2"}
    assert pools.earliest_return(POOL, now=110.0) == 10.0
    assert "key-1" in labels(pools, 2, now=121.0)


def test_a_rejected_key_is_set_aside_until_its_value_changes() -> None:
    pools = KeyPools({})
    pools.rejected("p", pools.usable(POOL)[0], now=0, status=401, reason="bad key")
    assert set(labels(pools, 4, now=10_000)) == {"key-2"}
    replaced = ProviderConfig(
        name="p",
        kind="openai",
        base_url="x",
        keys=(KeySource("key-1", value="sk-new"), KeySource("key-2", value="sk-two")),
    )
    assert [pools.pick(replaced, now=0).label for _ in range(2)] == ["key-1", "key-2"]  # type: ignore[union-attr]


def test_no_active_keys_says_why_and_when_one_returns() -> None:
    pools = KeyPools({})
    one, two = pools.usable(POOL)
    pools.rejected("p", one, now=0, status=401, reason="bad key")
    pools.rate_limited("p", two, now=0, rest=12.0, reason="429")
    with pytest.raises(NoActiveKeys) as caught:
        pools.pick(POOL, now=2.0)
    assert caught.value.status == 503 and caught.value.code == "provider_unavailable"
    assert caught.value.message.startswith("No active API keys for provider 'p'")
    assert "key-1 rejected by the provider (401)" in caught.value.message
    assert caught.value.retry_after == 10.0 and caught.value.headers["Retry-After"] == "10"
    keyless = ProviderConfig(name="q", kind="openai", base_url="x", keys=(KeySource("env:NOPE", env="NOPE"),))
    with pytest.raises(NoActiveKeys, match="No active API keys"):
        KeyPools({}).pick(keyless, now=0)


async def test_marks_go_to_the_store_and_a_reset_clears_them(tmp_path: Path) -> None:
    db = await open_store(tmp_path / "olga.db")
    try:
        pools = KeyPools({})
        one, two = pools.usable(POOL)
        extras = [
            pools.rejected("p", one, now=100.0, status=403, reason="forbidden"),
            pools.rate_limited("p", two, now=100.0, rest=50.0, reason="slow down"),
        ]
        await db.records.write_batch([], [e for e in extras if e is not None])
        marks, _ = await db.health.load()
        assert {(m.key_label, m.state, m.status) for m in marks} == {
            ("key-1", "invalid", 403),
            ("key-2", "rate_limited", 429),
        }
        assert all("sk-" not in repr(m) for m in marks)

        restarted = KeyPools({})  # a server started later takes the marks from the store
        await restarted.load_health(db)
        with pytest.raises(NoActiveKeys):
            restarted.pick(POOL, now=120.0)

        await db.health.reset("p", now=200.0)
        await restarted.load_health(db)  # what the server does when the CLI commits
        assert labels(restarted, 2, now=120.0) == ["key-1", "key-2"]
        # A mark made before the reset but committed after it stays forgotten.
        late = pools.rejected("p", one, now=150.0, status=401, reason="late")
        assert late is not None
        await db.records.write_batch([], [late])
        assert (await db.health.load())[0] == []
    finally:
        await db.close()
