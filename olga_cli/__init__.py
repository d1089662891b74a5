"""olga: a local LLM gateway for developers."""

__version__ = "0.1.0"
