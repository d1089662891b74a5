"""olga: a local LLM gateway for developers.

Inside olga, for maintainers: four floors, and imports only go down.

    cli/          the ``olga`` command (Typer): one module per noun; prints, never answers HTTP
      |
    server/       HTTP: olga's own server (http1), the URL table (routes), the proxy routes that hand
      |           a ``Call`` and a ``Sink`` to the pipeline, the app's state and lifetime; no business rules
    gateway/      the pipeline, no aiohttp and no SQL. At its top what every stage shares (pipeline,
      |           call, state, sink, snapshot, recorder, finish); beneath, one room per stage:
      |           admission/ (auth, allow-lists, credits, usage and rate limits, alerts),
      |           upstream/ (routing, exchange, HTTP client, failover, retry, breakers, key pools),
      |           relay/ (whole and streamed answers, guardrail screening)
    the ground    providers/ (API dialects and translation, pure), guardrails/ (detectors, pure),
                  validation/ (request shapes per API), store/ (every SQL statement, SQLite and
                  PostgreSQL behind one interface), telemetry/, catalog, config, money, records, errors

A floor imports its own and the floors below, never one above; nothing imports in a circle
(``tests/unit/test_import_graph.py`` checks both, and that no module passes 450 lines). Every error
olga raises or answers is in ``errors.py``, whose docstring draws the tree.

Where a request goes (``POST /v1/chat/completions``, say): ``server/http1`` reads it whole ->
``server/routes`` -> ``server/proxy`` builds a ``Call`` -> ``gateway/pipeline.handle``: authenticate (admission/auth)
-> parse and check the body (validation) -> plan the route (upstream/routing) -> admit: allow-lists,
credits reserved, usage and rate limits (admission/) -> screen the input (relay/screening) ->
``forward``: ``Failover`` tries the targets with retries and fallbacks (upstream/) -> the answer
relayed whole or streamed, screened on the way (relay/) -> ``finish``: usage and cost filled in, the
charge settled, the record committed through the recorder (store/) -> the response written to the
``Sink``. Configuration is read once into a frozen ``Config``; the running gateway's state is one
``Gateway`` object (gateway/state.py) passed explicitly, never a module global.
"""

__version__ = "0.1.0"
