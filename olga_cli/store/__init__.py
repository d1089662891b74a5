"""The store: every byte olga keeps, behind one interface per concern.

- ``base.Store`` holds the concerns; each has a Protocol beside the rows it deals in: ``keys``
  (keys and teams), ``ledger`` (credits and charges), ``generations`` (records, written in batches
  with their ``Extra`` rows), ``limits`` (usage limits, admissions, alerts), ``guardrails``,
  ``provider_health``, ``reports`` (logs, usage, retention).
- ``sqlite/`` implements them on one SQLite file: the only place with SQL, one ``transaction()``
  helper, migrations in the order they apply.
- ``db.open_store`` opens a store; nothing outside ``store/`` names a backend.
"""
