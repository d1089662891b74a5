"""A look at team mode's Redis for `olga doctor`: it answers, and which version it is."""

from __future__ import annotations

import redis

from olga_cli.store.redis.link import redact, split_url


def server_version(url: str) -> str:
    """Redis's version; redis-py's errors or OSError when it does not answer."""
    client_url, _ = split_url(url)
    client = redis.Redis.from_url(client_url, socket_timeout=5, socket_connect_timeout=5)
    try:
        info = client.info("server")
        return str(info.get("redis_version", "?"))
    finally:
        client.close()


__all__ = ["redact", "server_version", "split_url"]
