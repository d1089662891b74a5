"""The pipeline: everything between an incoming call and its answer, with no aiohttp and no SQL.

At the top, what every stage shares: ``pipeline`` (the story of one request), ``call`` (``Call``,
``Context``), ``state`` (``Gateway``: all one running gateway holds), ``sink`` (where a response
goes), ``snapshot`` (keys, teams, limits and guardrails in memory), ``recorder`` (batched writes of
generation records), ``finish`` (the record filled in, committed, errors answered),
``error_response`` (an error in the caller's API shape) and ``unmetered_calls`` (calls passed through
without metering). Beneath, one room per stage:

- ``admission/``: who is calling and may they (auth, allow-lists, credits, usage and rate limits,
  alerts);
- ``upstream/``: reaching a provider (routing, the exchange in its API, the HTTP client, failover
  with retries, breakers and key pools);
- ``relay/``: the answer back to the caller (whole or streamed), screened by the guardrails.
"""
