"""Reaching a provider: the route planned, the request in its API, sent, retried, failed over."""
