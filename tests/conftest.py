"""Each test gets its own olga home; fake providers are real servers on 127.0.0.1."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from olga_cli import jsonwire
from olga_cli.validation import reuse
from tests.fakes.gateway import RunningGateway, mint_key, point_openai_at, start_gateway
from tests.fakes.openai_upstream import FakeOpenAI

# A shell without job control starts a background job with SIGINT ignored, and the olga processes the
# tests start would inherit that: `--follow` and `serve`, stopped with Ctrl-C's signal, would never
# stop. A handler, unlike "ignored", is not inherited: the children get SIGINT's default again.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def spans_everywhere(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every body a gateway in this process parses goes the way large bodies go (members kept as
    their bytes, tools and system prompts shared between requests). Every body written upstream from
    those bytes is checked against the body written the ordinary way, and after each test every value
    shared against a fresh parse of its bytes: a value changed in place after parsing, which the
    bytes would miss (and other requests would then share), fails whichever test changed it."""
    monkeypatch.setattr(reuse, "SPANNED_BODY", 0)
    monkeypatch.setattr(reuse, "SPANNED_MEMBER", 0)
    monkeypatch.setattr(jsonwire, "VERIFY_SPANS", True)
    yield
    intact = reuse.intact()
    reuse.forget()
    assert intact, "a value shared between requests was changed in place"


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "olga-home"
    monkeypatch.setenv("OLGA_HOME", str(path))
    for name in (
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "OPENAI_BASE_URL",
        "ANTHROPIC_BASE_URL",
        "NO_COLOR",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
    ):
        monkeypatch.delenv(name, raising=False)
    return path


@pytest.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    fake = await FakeOpenAI().start()
    yield fake
    await fake.close()


@pytest.fixture
async def gateway(home: Path, fake_openai: FakeOpenAI, api_key: str) -> AsyncIterator[RunningGateway]:
    """olga with its openai provider pointed at the fake (``api_key`` is minted before it starts)."""
    point_openai_at(home, fake_openai.url)
    running = await start_gateway(home)
    yield running
    await running.close()


@pytest.fixture
async def api_key(home: Path) -> str:
    """An uncapped key, minted before the gateway starts."""
    _, plaintext = await mint_key(home, name="tester")
    return plaintext
