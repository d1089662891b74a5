"""OpenTelemetry traces of what olga served: one GenAI span per request, a child span per upstream attempt.

Off unless an OTLP endpoint is configured. ``traceparent`` (W3C trace context, pure) is used by the
gateway on every request; ``genai`` turns a committed generation record into span data (pure);
``otlp`` writes span data as OTLP protobuf bytes (pure, no SDK); ``export`` owns the span thread and
``transport`` the connection to the collector, both started only when tracing is on.
"""
