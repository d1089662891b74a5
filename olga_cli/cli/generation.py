"""``olga generation ID``: one request's record, explained (routing, usage, cost, guardrails, timings)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import typer

from olga_cli.catalog import CostBreakdown, cost_breakdown, load_catalog
from olga_cli.catalog_archive import load_version
from olga_cli.cli.common import JsonOption, console, env_of, print_json, run, store
from olga_cli.cli.render.generation import body_sections, generation_panel, generation_view
from olga_cli.errors import CatalogError, UserError
from olga_cli.records import GenerationRecord
from olga_cli.store.base import Store

WHOLE = 10_000  # the width piped output is laid out at: wide enough that nothing folds


async def _rate_multiplier(db: Store, record: GenerationRecord) -> Decimal:
    """The key's multiplier times its team's, as they are now (the record does not keep them)."""
    key = await db.keys.get_key_any(record.key_id)
    multiplier = key.rate_multiplier if key is not None else Decimal(1)
    team_id = record.team_id or (key.team_id if key is not None else None)
    team = await db.keys.get_team(team_id) if team_id else None
    return multiplier * team.rate_multiplier if team is not None else multiplier


def _breakdown(home: Any, record: GenerationRecord, multiplier: Decimal) -> CostBreakdown | None:
    """The cost line by line, with the prices of the catalog version the record was charged with
    where olga kept them (``olga models update`` keeps every version it replaces), else today's."""
    if not record.attempts:
        return None
    last = record.attempts[-1]
    try:
        catalog = load_catalog(home)
    except CatalogError:
        return None
    if record.catalog_version and record.catalog_version != catalog.version:
        catalog = load_version(home, record.catalog_version) or catalog
    entry = catalog.resolve_for_provider(last.provider, last.model)
    return None if entry is None else cost_breakdown(record, entry, multiplier, catalog.version)


MIN_SHORT = 6  # fewer characters than this would name too many requests to be worth a look


async def find_generation(db: Store, ref: str) -> GenerationRecord:
    """By olga id, the provider's response id, or the start of an olga id (with or without ``gen-``:
    the short id `olga logs --follow` shows), as long as one request has it."""
    record = await db.records.get_generation(ref)
    if record is not None:
        return record
    prefix = ref if ref.startswith("gen-") else "gen-" + ref
    if len(prefix) - len("gen-") >= MIN_SHORT:
        ids = await db.records.ids_starting(prefix, limit=4)
        if len(ids) == 1:
            found = await db.records.get_generation(ids[0])
            if found is not None:
                return found
        if len(ids) > 1:
            shown = ", ".join(ids[:3]) + (", ..." if len(ids) > 3 else "")
            raise UserError(f"'{ref}' is the start of several generations ({shown}); give more of the id")
    raise UserError(
        f"no generation '{ref}'; ids are in the x-olga-generation-id header, `olga logs --follow` "
        "and `olga logs --wide`"
    )


def generation(
    ctx: typer.Context,
    generation_id: str = typer.Argument(
        ...,
        metavar="ID",
        help="olga id (gen-...), its start (the short id of `olga logs --follow`) or the provider's id.",
    ),
    bodies: Annotated[
        bool, typer.Option("--bodies", help="Also show the stored request and response bodies.")
    ] = False,
    json_out: JsonOption = False,
) -> None:
    """Explain one request: routing attempts, usage, cost by price and multiplier, guardrails, timings.

    Example: olga generation gen-0192ab...  (ids are in the x-olga-generation-id header and `olga logs -w`)
    """
    env = env_of(ctx)

    async def work() -> tuple[GenerationRecord, Decimal]:
        async with store(env) as db:
            record = await find_generation(db, generation_id.strip())
            return record, await _rate_multiplier(db, record)

    record, multiplier = run(work())
    breakdown = _breakdown(env.home, record, multiplier)
    if json_out:
        data = record.to_json(with_bodies=bodies)
        data["cost_breakdown"] = breakdown.to_json() if breakdown is not None else None
        print_json(data)  # one thing: a bare object, as every command prints
        return
    out = console()
    if out.is_terminal:
        out.print(generation_panel(record, breakdown, width=out.width))
    else:
        out.width = WHOLE  # piped: no box, and no line cut or folded at 80 columns
        with out.capture() as view:
            out.print(generation_view(record, breakdown, width=WHOLE))
        # Columns are padded to their widest cell; a file or a grep wants no spaces at line ends.
        out.file.write("".join(line.rstrip() + "\n" for line in view.get().splitlines()))
    if bodies:
        for part in body_sections(record):
            out.print(part, soft_wrap=True)
