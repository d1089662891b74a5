"""The batch's rows are written as JSON by orjson, and by the standard library where orjson refuses: the
same values reach PostgreSQL, and a record PostgreSQL cannot take is still sanitised and stored."""

from __future__ import annotations

import json

from olga_cli.gateway.recorder import Recorder
from olga_cli.store.db import open_store
from olga_cli.store.generations import RECORD_COLUMNS, record_values
from olga_cli.store.postgres.records import _json
from tests.cli.seed import make_record


def test_the_rows_are_the_standard_librarys_json() -> None:
    record = make_record(
        cost_pico=6_300_000, latency_ms=75.444644000072, tags=["a", "é"], end_user="ann", model="m\u2028"
    )
    rows = [dict(zip(RECORD_COLUMNS, record_values(record), strict=True))]
    rows.append({"n": 2**63 - 1, "f": 0.1, "g": 1e-300, "none": None, "yes": True})
    assert json.loads(_json(rows)) == json.loads(json.dumps(rows, ensure_ascii=False)) == rows


def test_what_orjson_refuses_is_written_by_the_standard_library() -> None:
    assert _json([{"n": 2**70}]) == '[{"n":1180591620717411303424}]'
    assert _json(["caf\udce9"]) == json.dumps(["caf\udce9"], ensure_ascii=False)


async def test_a_record_postgresql_refuses_is_sanitised_and_stored(pg_url: str) -> None:
    db = await open_store(pg_url)
    try:
        row, _ = await db.keys.create_key(name="laptop", credits_pico=None)
        recorder = Recorder(db)
        recorder.start()
        odd = make_record(key_id=row.id, cost_pico=3, model_requested="caf\udce9")
        odd.tokens_completion = 2**70
        await recorder.write(odd)
        await recorder.stop()
        stored = await db.records.get_generation(odd.id)
        assert stored is not None and stored.model_requested == "caf\ufffd"
        assert stored.tokens_completion == 2**63 - 1
        assert sorted(stored.flags) == [
            "sanitised: model_requested (text with lone surrogates replaced)",
            "sanitised: tokens_completion (clamped)",
        ]
    finally:
        await db.close()
