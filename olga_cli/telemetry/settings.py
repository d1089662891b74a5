"""Whether and where traces go, resolved once at start-up from the standard ``OTEL_*`` variables and
config.toml's ``[telemetry]`` table (the variables win, as everywhere in OpenTelemetry).

The variables are those of the OpenTelemetry specification ("Environment Variable Specification",
"OTLP Exporter Configuration"): the ``OTEL_EXPORTER_OTLP_TRACES_*`` form before the general
``OTEL_EXPORTER_OTLP_*`` one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote

from olga_cli.errors import UserError

Protocol = Literal["http/protobuf", "grpc"]
_TRUE = ("1", "true", "yes", "on")
_SAMPLERS = (
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
)
_DEFAULT_ENDPOINT = {"http/protobuf": "http://localhost:4318", "grpc": "http://localhost:4317"}


@dataclass(frozen=True, slots=True)
class TelemetrySettings:
    enabled: bool = False
    # Where spans go: for http/protobuf the full URL (…/v1/traces), for grpc the collector's address.
    endpoint: str = _DEFAULT_ENDPOINT["http/protobuf"] + "/v1/traces"
    protocol: Protocol = "http/protobuf"
    service_name: str = "olga"
    capture_content: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)  # sent with each export
    compression: Literal["none", "gzip"] = "none"
    certificate: str | None = None  # a CA bundle to trust for https
    client_key: str | None = None  # mutual TLS
    client_certificate: str | None = None
    insecure: bool = False  # grpc without TLS on an address without a scheme
    resource: Mapping[str, str] = field(default_factory=dict)  # OTEL_RESOURCE_ATTRIBUTES
    sampler: str = "parentbased_always_on"
    sampler_ratio: float = 1.0
    schedule_delay: float = 5.0  # seconds a span may wait for its batch (OTEL_BSP_SCHEDULE_DELAY)
    batch_size: int = 512  # spans per export at most (OTEL_BSP_MAX_EXPORT_BATCH_SIZE)
    queue_size: int = 10_000  # records waiting; beyond it spans are dropped (OTEL_BSP_MAX_QUEUE_SIZE)


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
    protocol = _otlp(environ, "PROTOCOL") or table.get("protocol") or "http/protobuf"
    if protocol not in ("http/protobuf", "grpc"):
        raise UserError(
            f"OTLP protocol {protocol!r} is not supported; use http/protobuf (the default) or grpc"
        )
    chosen: Protocol = "grpc" if protocol == "grpc" else "http/protobuf"
    capture = environ.get("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")
    sampler, ratio = _sampler(environ)
    return TelemetrySettings(
        enabled=enabled,
        endpoint=_endpoint(chosen, endpoint, environ),
        protocol=chosen,
        service_name=environ.get("OTEL_SERVICE_NAME") or str(table.get("service_name") or "olga"),
        capture_content=(capture.lower() in _TRUE) if capture else table.get("capture_content") is True,
        headers={**_table_headers(table), **_pairs(_otlp(environ, "HEADERS"))},
        compression=_compression(_otlp(environ, "COMPRESSION") or table.get("compression") or "none"),
        certificate=_otlp(environ, "CERTIFICATE"),
        client_key=_otlp(environ, "CLIENT_KEY"),
        client_certificate=_otlp(environ, "CLIENT_CERTIFICATE"),
        insecure=(_otlp(environ, "INSECURE") or "").lower() in _TRUE,
        resource=_pairs(environ.get("OTEL_RESOURCE_ATTRIBUTES")),
        sampler=sampler,
        sampler_ratio=ratio,
        schedule_delay=_positive(environ, "OTEL_BSP_SCHEDULE_DELAY", 5000) / 1000,
        batch_size=int(_positive(environ, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512)),
        queue_size=int(_positive(environ, "OTEL_BSP_MAX_QUEUE_SIZE", 10_000)),
    )


def _otlp(environ: Mapping[str, str], name: str) -> str | None:
    return environ.get(f"OTEL_EXPORTER_OTLP_TRACES_{name}") or environ.get(f"OTEL_EXPORTER_OTLP_{name}")


def _endpoint(protocol: Protocol, configured: str | None, environ: Mapping[str, str]) -> str:
    """The signal's own variable is used as it is; a base URL (the general variable, config.toml)
    gets ``/v1/traces`` over HTTP; gRPC names a service, not a path, so its address is kept."""
    traces = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if traces:
        return traces
    base = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or configured or _DEFAULT_ENDPOINT[protocol]
    return base if protocol == "grpc" else base.rstrip("/") + "/v1/traces"


def _pairs(value: str | None) -> dict[str, str]:
    """``key=value,key2=value2`` with percent-encoded values (the headers and resource variables);
    an entry without ``=`` is skipped, as the OpenTelemetry SDKs do."""
    pairs: dict[str, str] = {}
    for entry in (value or "").split(","):
        key, sep, raw = entry.partition("=")
        if sep and key.strip():
            pairs[key.strip()] = unquote(raw.strip())
    return pairs


def _table_headers(table: Mapping[str, Any]) -> dict[str, str]:
    headers = table.get("headers")
    if headers is None:
        return {}
    if not (isinstance(headers, dict) and all(isinstance(v, str) for v in headers.values())):
        raise UserError(
            'config.toml [telemetry]: headers must be a table of strings, e.g. {"x-token" = "..."}'
        )
    return dict(headers)


def _compression(value: object) -> Literal["none", "gzip"]:
    if value not in ("none", "gzip"):
        raise UserError(f"OTLP compression {value!r} is not supported; use gzip or none")
    return "gzip" if value == "gzip" else "none"


def _sampler(environ: Mapping[str, str]) -> tuple[str, float]:
    name = (environ.get("OTEL_TRACES_SAMPLER") or "parentbased_always_on").strip().lower()
    if name not in _SAMPLERS:
        raise UserError(f"OTEL_TRACES_SAMPLER={name} is not supported; use one of {', '.join(_SAMPLERS)}")
    raw = environ.get("OTEL_TRACES_SAMPLER_ARG")
    try:
        ratio = float(raw) if raw and name.endswith("traceidratio") else 1.0
    except ValueError:
        raise UserError(f"OTEL_TRACES_SAMPLER_ARG={raw} must be a ratio between 0 and 1") from None
    if not 0 <= ratio <= 1:
        raise UserError(f"OTEL_TRACES_SAMPLER_ARG={raw} must be a ratio between 0 and 1")
    return name, ratio


def _positive(environ: Mapping[str, str], name: str, default: int) -> float:
    raw = environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise UserError(f"{name}={raw} must be a positive number")
    return value
