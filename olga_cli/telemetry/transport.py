"""Export requests to the collector: OTLP/HTTP on one kept-alive connection, or OTLP/gRPC.

Both run on the span thread only. An export gives up after ``TIMEOUT`` seconds in all (retrying
the answers the OTLP specification calls transient, with backoff, as the OpenTelemetry SDKs do), so a
collector that is down or slow holds up the span thread, never a request; the queue in front of it is
bounded and what overflows is dropped.
"""

from __future__ import annotations

import gzip
import http.client
import logging
import random
import ssl
import threading
import time
from typing import Any, Protocol
from urllib.parse import urlsplit

from olga_cli.errors import UserError
from olga_cli.telemetry.settings import TelemetrySettings

log = logging.getLogger("olga.telemetry")
TIMEOUT = 5.0  # seconds for one export, retries included
_RETRYABLE_HTTP = frozenset({429, 502, 503, 504})  # OTLP/HTTP: "retryable response codes"
_RETRYABLE_GRPC = frozenset({"CANCELLED", "DEADLINE_EXCEEDED", "ABORTED", "OUT_OF_RANGE", "UNAVAILABLE"})
GRPC_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


class Sender(Protocol):
    def send(self, body: bytes) -> bool: ...

    def close(self) -> None: ...


def sender(settings: TelemetrySettings, closing: threading.Event) -> Sender:
    if settings.protocol == "grpc":
        return GrpcSender(settings, closing)
    return HttpSender(settings, closing)


class _Retrying:
    """The retry loop both protocols share; ``_try`` returns (done, retryable, reason, wait)."""

    def __init__(self, closing: threading.Event) -> None:
        self._closing = closing  # set at shutdown: one last try, no waiting between retries
        self._failing = False

    def send(self, body: bytes) -> bool:
        deadline = time.monotonic() + TIMEOUT
        for retry in range(6):
            done, retryable, reason, wait = self._try(body, deadline)
            if done:
                if self._failing:
                    log.warning("spans reach the collector again")
                self._failing = False
                return True
            backoff = wait if wait is not None else 2**retry * random.uniform(0.8, 1.2)
            if not retryable or backoff > deadline - time.monotonic():
                break
            if backoff > 0 and self._closing.wait(backoff):  # shutting down: no waiting
                break
        if not self._failing:  # once per outage, not once per batch
            log.warning("spans dropped: the collector did not take them (%s)", reason)
        self._failing = True
        return False

    def _try(self, body: bytes, deadline: float) -> tuple[bool, bool, str, float | None]:
        raise NotImplementedError


class HttpSender(_Retrying):
    def __init__(self, settings: TelemetrySettings, closing: threading.Event) -> None:
        super().__init__(closing)
        url = urlsplit(settings.endpoint)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise UserError(f"OTLP endpoint {settings.endpoint!r} must be an http:// or https:// URL")
        self._path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        if url.scheme == "https":
            self._connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                url.hostname, url.port, timeout=TIMEOUT, context=_tls(settings)
            )
        else:
            self._connection = http.client.HTTPConnection(url.hostname, url.port, timeout=TIMEOUT)
        self._gzip = settings.compression == "gzip"
        from olga_cli import __version__

        self._headers = {
            **settings.headers,
            "Content-Type": "application/x-protobuf",
            "User-Agent": f"olga/{__version__}",
        }
        if self._gzip:
            self._headers["Content-Encoding"] = "gzip"

    def send(self, body: bytes) -> bool:
        return super().send(gzip.compress(body, compresslevel=6) if self._gzip else body)

    def _try(self, body: bytes, deadline: float) -> tuple[bool, bool, str, float | None]:
        # A kept-alive connection the collector has closed fails at once: one more try on a new one.
        reused = self._connection.sock is not None
        for last in (not reused, True):
            try:
                status, retry_after = self._post(body, deadline)
            except (OSError, http.client.HTTPException) as exc:
                self._connection.close()
                if last:
                    return False, True, repr(exc), None
                continue
            retryable = status in _RETRYABLE_HTTP
            return 200 <= status < 300, retryable, f"HTTP {status}", retry_after if retryable else None
        raise AssertionError("unreachable")

    def _post(self, body: bytes, deadline: float) -> tuple[int, float | None]:
        timeout = max(deadline - time.monotonic(), 0.01)
        connection = self._connection
        connection.timeout = timeout  # for the connect, when there is no connection yet
        if connection.sock is not None:
            connection.sock.settimeout(timeout)
        connection.request("POST", self._path, body, self._headers)
        response = connection.getresponse()
        response.read()
        wait = response.getheader("retry-after")
        return response.status, float(wait) if wait and wait.isdigit() else None

    def close(self) -> None:
        self._connection.close()


class GrpcSender(_Retrying):
    """The same bytes over gRPC (grpcio, the ``olga[otel]`` extra), sent without generated stubs."""

    def __init__(self, settings: TelemetrySettings, closing: threading.Event) -> None:
        super().__init__(closing)
        try:
            import grpc  # type: ignore[import-untyped, import-not-found, unused-ignore]
        except ImportError:
            raise UserError(
                "OTLP over gRPC needs grpcio: pip install 'olga[otel]', "
                "or set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"
            ) from None
        self._grpc: Any = grpc
        url = urlsplit(settings.endpoint if "://" in settings.endpoint else "//" + settings.endpoint)
        target = url.netloc or settings.endpoint
        compression = grpc.Compression.Gzip if settings.compression == "gzip" else None
        if url.scheme == "http" or (not url.scheme and settings.insecure):
            self._channel = grpc.insecure_channel(target, compression=compression)
        else:
            credentials = grpc.ssl_channel_credentials(
                _read(settings.certificate), _read(settings.client_key), _read(settings.client_certificate)
            )
            self._channel = grpc.secure_channel(target, credentials, compression=compression)
        # No serializers: the request is already protobuf bytes, the answer is not needed.
        self._export = self._channel.unary_unary(GRPC_METHOD)
        self._metadata = tuple((k.lower(), v) for k, v in settings.headers.items())

    def _try(self, body: bytes, deadline: float) -> tuple[bool, bool, str, float | None]:
        try:
            self._export(body, timeout=max(deadline - time.monotonic(), 0.01), metadata=self._metadata)
        except self._grpc.RpcError as exc:
            code = exc.code().name if hasattr(exc, "code") else "UNKNOWN"
            return False, code in _RETRYABLE_GRPC, f"gRPC {code}", None
        return True, False, "", None

    def close(self) -> None:
        self._channel.close()


def _tls(settings: TelemetrySettings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=settings.certificate)
    if settings.client_certificate:
        context.load_cert_chain(settings.client_certificate, settings.client_key)
    return context


def _read(path: str | None) -> bytes | None:
    if path is None:
        return None
    with open(path, "rb") as file:
        return file.read()
