"""Provider API keys in use: which key the next request to a provider goes out with."""

from __future__ import annotations

from collections.abc import Mapping

from olga_cli.config import ProviderConfig
from olga_cli.errors import ProviderUnavailable
from olga_cli.gateway.upstream import ProviderKey


class KeyPools:
    """Round-robin over each provider's usable keys."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self._turn: dict[str, int] = {}

    def set_environ(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def usable(self, provider: ProviderConfig) -> list[ProviderKey]:
        keys = []
        for source in provider.keys:
            value = source.resolve(self._environ)
            if value:
                keys.append(ProviderKey(source.label, value))
        return keys

    def pick(self, provider: ProviderConfig) -> ProviderKey | None:
        if not provider.needs_key:
            keys = self.usable(provider)
            return keys[0] if keys else None
        keys = self.usable(provider)
        if not keys:
            raise ProviderUnavailable(_no_key_message(provider))
        turn = self._turn.get(provider.name, 0)
        self._turn[provider.name] = turn + 1
        return keys[turn % len(keys)]


def _no_key_message(provider: ProviderConfig) -> str:
    envs = [s.env for s in provider.keys if s.env]
    hint = f"set {' or '.join(envs)} before `olga serve`, or run " if envs else "run "
    return (
        f"Provider '{provider.name}' has no usable API key: {hint}"
        f"`olga providers add-key {provider.name} --api-key-env VAR`."
    )
