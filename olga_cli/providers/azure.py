"""Azure OpenAI: OpenAI's wire format at Azure's URLs.

A request goes to a *deployment* the user named in Azure (often, but not always, after the model), with
the API version as a query parameter and the key in an ``api-key`` header::

    {endpoint}/openai/deployments/{deployment}/chat/completions?api-version=2024-10-21

olga maps the model a caller asked for to its deployment (``[providers.NAME] deployments``, else the
model's own name), and sends the same body it would send OpenAI.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

DEFAULT_API_VERSION = "2024-10-21"

# The OpenAI paths an exchange builds, and the operation Azure serves under a deployment.
_OPERATIONS = {"/chat/completions": "chat/completions", "/embeddings": "embeddings"}


def deployment_for(model: str, deployments: Mapping[str, str]) -> str:
    """The deployment serving ``model``: the user's mapping, else a deployment named after the model."""
    return deployments.get(model) or model


def azure_path(
    path: str, *, model: str, deployments: Mapping[str, str], api_version: str | None
) -> str | None:
    """The Azure path (with its api-version) for an OpenAI path, or None for one Azure does not serve."""
    operation = _OPERATIONS.get(path)
    if operation is None:
        return None
    deployment = quote(deployment_for(model, deployments), safe="")
    version = quote(api_version or DEFAULT_API_VERSION, safe="")
    return f"/openai/deployments/{deployment}/{operation}?api-version={version}"
