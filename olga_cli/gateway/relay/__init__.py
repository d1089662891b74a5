"""The answer back to the caller, whole or streamed, screened by the guardrails on the way."""
