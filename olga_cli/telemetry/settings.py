"""Whether and where traces go, resolved once at start-up from the standard ``OTEL_*`` variables and
config.toml's ``[telemetry]`` table (the variables win, as everywhere in OpenTelemetry)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from olga_cli.errors import UserError

Protocol = Literal["http/protobuf", "grpc"]
_TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True, slots=True)
class TelemetrySettings:
    enabled: bool = False
    endpoint: str | None = None  # from config.toml; None: the exporter reads OTEL_EXPORTER_OTLP_* itself
    protocol: Protocol = "http/protobuf"
    service_name: str = "olga"
    capture_content: bool = False
    headers: Mapping[str, str] | None = (
        None  # config.toml's; OTEL_EXPORTER_OTLP_HEADERS is read by the exporter
    )


def telemetry_settings(raw: Mapping[str, Any], environ: Mapping[str, str]) -> TelemetrySettings:
    """Tracing is on when an OTLP endpoint is set (variable or ``[telemetry] endpoint``) or
    ``[telemetry] enabled = true``; ``OTEL_SDK_DISABLED=true`` turns it off whatever else says."""
    table = raw.get("telemetry") or {}
    if not isinstance(table, dict):
        raise UserError("config.toml: [telemetry] must be a table")
    endpoint = table.get("endpoint")
    if endpoint is not None and (not isinstance(endpoint, str) or "://" not in endpoint):
        raise UserError("config.toml [telemetry]: endpoint must be a URL such as http://127.0.0.1:4318")
    from_env = bool(
        environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )
    enabled = from_env or bool(endpoint) or table.get("enabled") is True
    if environ.get("OTEL_SDK_DISABLED", "").lower() in _TRUE or table.get("enabled") is False:
        enabled = False
    protocol = (
        environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or table.get("protocol")
        or "http/protobuf"
    )
    if protocol not in ("http/protobuf", "grpc"):
        raise UserError(
            f"OTLP protocol {protocol!r} is not supported; use http/protobuf (the default) or grpc"
        )
    chosen: Protocol = "grpc" if protocol == "grpc" else "http/protobuf"
    capture = environ.get("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")
    headers = table.get("headers")
    if headers is not None and not (
        isinstance(headers, dict) and all(isinstance(v, str) for v in headers.values())
    ):
        raise UserError(
            'config.toml [telemetry]: headers must be a table of strings, e.g. {"x-token" = "..."}'
        )
    return TelemetrySettings(
        enabled=enabled,
        endpoint=endpoint,
        protocol=chosen,
        service_name=environ.get("OTEL_SERVICE_NAME") or str(table.get("service_name") or "olga"),
        capture_content=(capture.lower() in _TRUE) if capture else table.get("capture_content") is True,
        headers=headers,
    )
