"""``olga guardrails``: screen requests and answers for personal data, secrets and prompt injection.

A guardrail applies to one key, one team or every key (``--global``). A running server picks up
guardrails added or removed here on its next request. ``violations`` shows what fired (never the
matched text), live with ``--follow``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

import typer
from rich.markup import escape

from olga_cli.cli.common import (
    JsonOption,
    console,
    env_of,
    error_console,
    fail,
    print_json,
    print_json_line,
    run,
    store,
)
from olga_cli.cli.lookups import find_key, find_team
from olga_cli.cli.render.lists import guardrails_listing
from olga_cli.cli.render.table import emit
from olga_cli.errors import UserError
from olga_cli.guardrails import GuardrailSpec, validate_spec
from olga_cli.guardrails.classifier import missing as classifier_missing
from olga_cli.store.base import Store
from olga_cli.store.guardrails import GuardrailRow, Scope, ViolationRow

FOLLOW_INTERVAL = 0.25  # seconds between polls: a violation shows well within a second

app = typer.Typer(
    help="Guardrails on keys, teams or every key: PII, secrets and prompt injection, on input and output.",
    no_args_is_help=True,
)

KeyOpt = Annotated[str | None, typer.Option("--key", help="The key (name or id) the guardrail applies to.")]
TeamOpt = Annotated[
    str | None, typer.Option("--team", help="The team (name or id) the guardrail applies to.")
]
GlobalOpt = Annotated[bool, typer.Option("--global", help="Apply the guardrail to every key.")]


def parse_entities(text: str | None) -> tuple[str, ...]:
    """``email, Credit-Card`` -> ``("email", "credit_card")``; checked against the type by validate_spec."""
    if text is None:
        return ()
    entities = tuple(
        dict.fromkeys(part.strip().lower().replace("-", "_") for part in text.split(",") if part.strip())
    )
    if not entities:
        raise UserError("--entities takes a comma-separated list such as email,phone,credit_card")
    return entities


def check_spec(spec: GuardrailSpec) -> None:
    """The engine's own checks, as one line naming the flag to fix."""
    try:
        validate_spec(spec)
    except ValueError as exc:
        text = str(exc)
        flag = next(
            (
                f"--{word}"
                for word in ("type", "stage", "action", "threshold", "entities")
                if word in text.split()
            ),
            "--entities" if "entity" in text else "",
        )
        raise UserError(f"{flag}: {text}" if flag else text) from None


async def _scope(
    db: Store, key: str | None, team: str | None, everyone: bool
) -> tuple[Scope, str | None, str]:
    if sum((key is not None, team is not None, everyone)) != 1:
        raise UserError("give exactly one of --key KEY, --team TEAM or --global")
    if key is not None:
        row = await find_key(db, key)
        return "key", row.id, row.name
    if team is not None:
        found = await find_team(db, team)
        return "team", found.id, found.name
    return "global", None, "every key"


async def _scope_names(db: Store) -> dict[tuple[str, str | None], str]:
    names: dict[tuple[str, str | None], str] = {("global", None): "every key"}
    for key in await db.keys.list_keys(include_deleted=True):
        names[("key", key.id)] = key.name
    for team in await db.keys.list_teams():
        names[("team", team.id)] = team.name
    return names


def guardrail_json(row: GuardrailRow, scope_name: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "scope": row.scope,
        "scope_id": row.scope_id,
        "scope_name": scope_name,
        "type": row.type,
        "stage": row.stage,
        "action": row.action,
        "entities": list(row.entities),
        "threshold": row.threshold,
        "created_at": _iso(row.created_at),
    }


def violation_json(row: ViolationRow, key_name: str | None) -> dict[str, Any]:
    """A violation as `olga guardrails violations --json` prints it: metadata only, never the text."""
    return {
        "id": row.id,
        "created_at": _iso(row.created_at),
        "generation_id": row.generation_id,
        "key_id": row.key_id,
        "key_name": key_name,
        "guardrail_id": row.guardrail_id,
        "guardrail": row.guardrail_name,
        "type": row.type,
        "stage": row.stage,
        "entity": row.entity,
        "action": row.action,
        "field": row.field,
        "start": row.start,
        "end": row.end,
        "confidence": round(row.confidence, 3),
    }


def violation_line(data: dict[str, Any]) -> str:
    """One violation as a line of text (no markup: names are printed as they are)."""
    key = data["key_name"] or data["key_id"]
    return (
        f"{data['created_at'][:19].replace('T', ' ')}  {data['generation_id']}  key {key}  "
        f"{data['guardrail']} ({data['type']}) {data['action']} {data['entity']} on {data['stage']}  "
        f"{data['field'] or '-'} [{data['start']}:{data['end']}]"
    )


def classifier_note(guardrail_type: str) -> str | None:
    """What a prompt-injection guardrail runs without the classifier, and how to add it."""
    if guardrail_type != "prompt-injection":
        return None
    reason = classifier_missing()
    if reason is None:
        return None
    return f"only the rules will screen for prompt injection; {reason}"


@app.command("add")
def add(
    ctx: typer.Context,
    key: KeyOpt = None,
    team: TeamOpt = None,
    everyone: GlobalOpt = False,
    type_: Annotated[str, typer.Option("--type", help="pii, secrets or prompt-injection.")] = "",
    stage: Annotated[
        str, typer.Option("--stage", help="input (the request), output (the answer) or both.")
    ] = "",
    action: Annotated[
        str,
        typer.Option("--action", help="block (422), redact (replace with [EMAIL] ...) or log (record only)."),
    ] = "",
    entities: Annotated[
        str | None,
        typer.Option(
            "--entities", help="Only these entities, e.g. email,phone,credit_card,ssn,iban,ip_address."
        ),
    ] = None,
    threshold: Annotated[
        float,
        typer.Option(
            "--threshold",
            help=(
                "Minimum confidence, 0.0-1.0: higher cuts false positives, lower catches more. For "
                "prompt-injection the classifier's scores are calibrated so that the default 0.5 is the "
                "point validated at 1 % false positives on benign sources it never trained on (system "
                "prompts, code, documents, questions with trigger words); 0.8 flags fewer, 0.3 more. On "
                "held-out sources it measured 32 % recall at 4.9 % false positives (goal: 80 % at 2 %), "
                "so the classifier is log-only: it feeds --action log guardrails; block and redact use "
                "the rules alone."
            ),
        ),
    ] = 0.5,
    name: Annotated[str | None, typer.Option("--name", help="A name for messages and logs.")] = None,
    json_out: JsonOption = False,
) -> None:
    """Add a guardrail; a running server applies it from the next request.

    Examples: olga guardrails add --team research --type pii --stage input --action block --entities credit_card ;
    olga guardrails add --global --type secrets --stage both --action redact
    """
    env = env_of(ctx)

    async def work() -> dict[str, Any]:
        if not type_ or not stage or not action:
            raise UserError(
                "--type, --stage and --action are required, e.g. --type pii --stage input --action redact"
            )
        chosen = parse_entities(entities)
        label = name if name is not None else f"{type_}-{stage}-{action}"
        if not label.strip():
            raise UserError("--name cannot be empty")
        spec = GuardrailSpec(
            id="",
            name=label,
            type=type_,  # type: ignore[arg-type]  # checked by check_spec below
            stage=stage,  # type: ignore[arg-type]
            action=action,  # type: ignore[arg-type]
            entities=chosen,
            threshold=threshold,
        )
        check_spec(spec)
        async with store(env) as db:
            scope, scope_id, scope_name = await _scope(db, key, team, everyone)
            row = await db.guardrails.create_guardrail(
                name=label,
                scope=scope,
                scope_id=scope_id,
                type=type_,
                stage=stage,
                action=action,
                entities=chosen,
                threshold=threshold,
            )
            return guardrail_json(row, scope_name)

    data = run(work())
    if json_out:
        print_json(data)
    else:
        console().print(
            f"Added guardrail {data['id']} '{escape(data['name'])}': {data['action']} "
            f"{','.join(data['entities']) or data['type']} on {data['stage']} for "
            f"{'every key' if data['scope'] == 'global' else data['scope'] + ' ' + escape(repr(data['scope_name']))}."
        )
    note = classifier_note(type_)
    if note:
        # On stderr, so `--json` output stays one document.
        error_console().print(f"note: {escape(note)}")


@app.command("list")
def list_guardrails(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Every guardrail in force, with its scope; piped, tab-separated lines under a header.

    On a narrow terminal the threshold column goes first, then the entities.
    Example: olga guardrails list --json
    """
    env = env_of(ctx)

    async def work() -> list[dict[str, Any]]:
        async with store(env) as db:
            names = await _scope_names(db)
            rows = await db.guardrails.list_guardrails()
            return [
                guardrail_json(row, names.get((row.scope, row.scope_id), row.scope_id or "")) for row in rows
            ]

    rows = run(work())
    if json_out:
        print_json(rows)
    elif not rows:
        console().print(
            "No guardrails. Add one with `olga guardrails add --global --type secrets --stage both --action block`."
        )
    else:
        emit(console(), guardrails_listing(rows))


@app.command("remove")
def remove(
    ctx: typer.Context, ref: Annotated[str, typer.Argument(metavar="ID")], json_out: JsonOption = False
) -> None:
    """Remove a guardrail by id (or by name when only one has it). Example: olga guardrails remove 3"""
    env = env_of(ctx)

    async def work() -> dict[str, Any]:
        async with store(env) as db:
            row = await _find(db, ref)
            names = await _scope_names(db)
            data = guardrail_json(row, names.get((row.scope, row.scope_id), row.scope_id or ""))
            await db.guardrails.remove_guardrail(row.id)
            return {**data, "status": "removed"}

    data = run(work())
    if json_out:
        print_json(data)
    else:
        console().print(f"Removed guardrail {data['id']} '{escape(data['name'])}'.")


async def _find(db: Store, ref: str) -> GuardrailRow:
    if ref.strip().isdigit():
        row = await db.guardrails.get_guardrail(int(ref))
        if row is not None:
            return row
    found = await db.guardrails.find_guardrails(ref)
    if len(found) > 1:
        ids = ", ".join(str(row.id) for row in found)
        raise UserError(f"{len(found)} guardrails are named '{ref}' (ids {ids}); remove one by id")
    if not found:
        raise UserError(f"no guardrail with id or name '{ref}'; see `olga guardrails list`")
    return found[0]


@app.command("violations")
def violations(
    ctx: typer.Context,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep showing new violations until Ctrl-C.")
    ] = False,
    limit: Annotated[
        int, typer.Option("--limit", "-n", help="How many of the newest violations to show.")
    ] = 50,
    key: Annotated[str | None, typer.Option("--key", help="Only this key's (name or id).")] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="JSON: one document, or one line per violation with --follow.")
    ] = False,
) -> None:
    """What the guardrails found, newest last: guardrail, stage, entity, action and position, never the text.

    Examples: olga guardrails violations --limit 20 ; olga guardrails violations --follow --key laptop
    """
    if limit <= 0:
        raise fail("--limit must be a positive whole number")
    env = env_of(ctx)

    async def work() -> list[dict[str, Any]] | None:
        async with store(env) as db:
            key_id = None if key is None else (await find_key(db, key)).id
            mark = await db.guardrails.newest_violation_id()
            rows = await db.guardrails.latest_violations(key_id=key_id, limit=limit)
            names = await _key_names(db)
            page = [violation_json(row, names.get(row.key_id)) for row in rows]
            if not follow:
                return page
            await _follow(db, page, mark=mark, key_id=key_id, json_out=json_out)
            return None

    try:
        page = run(work())
    except KeyboardInterrupt:
        raise typer.Exit(0) from None  # Ctrl-C is how --follow is meant to end
    if page is None:
        return
    if json_out:
        print_json(page)
    elif not page:
        console().print("No guardrail violations recorded (or none for this key).")
    else:
        out = console()
        for data in page:
            out.print(violation_line(data), markup=False)


async def _key_names(db: Store) -> dict[str, str]:
    return {row.id: row.name for row in await db.keys.list_keys(include_deleted=True)}


async def _follow(
    db: Store, page: list[dict[str, Any]], *, mark: int, key_id: str | None, json_out: bool
) -> None:
    out = console()

    def show(data: dict[str, Any]) -> None:
        if json_out:
            print_json_line(data)
        else:
            out.print(violation_line(data), markup=False)

    for data in page:
        show(data)
    names = await _key_names(db)
    while True:
        rows = await db.guardrails.violations_after(mark, key_id=key_id)
        if rows:
            if any(row.key_id not in names for row in rows):
                names = await _key_names(db)
            for row in rows:
                show(violation_json(row, names.get(row.key_id)))
            mark = rows[-1].id
        else:
            await asyncio.sleep(FOLLOW_INTERVAL)


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}Z"
