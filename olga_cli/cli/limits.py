"""``olga limits``: usage limits on a key or a team (cost, requests or tokens per window), with alerts."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.markup import escape

from olga_cli.cli.common import JsonOption, console, env_of, print_json, run, store
from olga_cli.cli.lookups import find_key, find_team
from olga_cli.cli.render.limits import limits_listing, scope_label
from olga_cli.cli.render.table import emit
from olga_cli.errors import UserError
from olga_cli.gateway.admission.limit_views import limit_view
from olga_cli.gateway.admission.usage_counts import ScopeUsage
from olga_cli.gateway.admission.windows import METRICS, WINDOWS, day_of
from olga_cli.money import usd_to_pico
from olga_cli.store.base import Store
from olga_cli.store.limits import LimitRow, Scope

app = typer.Typer(
    help="Usage limits on keys and teams: cost, requests or tokens per window.", no_args_is_help=True
)

KeyOpt = Annotated[str | None, typer.Option("--key", help="The key (name or id) the limit applies to.")]
TeamOpt = Annotated[str | None, typer.Option("--team", help="The team (name or id) the limit applies to.")]
TagOpt = Annotated[
    str | None,
    typer.Option("--tag", help="A request tag (x-olga-tags or metadata.tags) the limit applies to."),
]
UserOpt = Annotated[
    str | None,
    typer.Option("--user", help="An end user (x-olga-user, user or metadata.user_id), across every key."),
]
EachUserOpt = Annotated[
    bool,
    typer.Option(
        "--each-user", help="With --key or --team: the limit applies to each of its end users apart."
    ),
]


def parse_metric(text: str) -> str:
    if text not in METRICS:
        raise UserError(f"--metric must be one of {', '.join(METRICS)}, not {text!r}")
    return text


def parse_window(text: str) -> str:
    if text not in WINDOWS:
        raise UserError(f"--window must be one of {', '.join(WINDOWS)}, not {text!r}")
    return text


def parse_threshold(metric: str, text: str) -> int:
    """USD for cost (kept as picodollars), a whole number of requests or tokens otherwise."""
    if metric == "cost":
        try:
            value = usd_to_pico(text, what="--threshold")
        except ValueError as exc:
            raise UserError(f"{exc} (a cost threshold is USD, such as 10 or 0.50)") from None
    else:
        try:
            value = int(text)
        except ValueError:
            raise UserError(f"--threshold for {metric} must be a whole number, not {text!r}") from None
    if value <= 0:
        raise UserError("--threshold must be greater than 0")
    return value


def parse_alerts(text: str | None) -> tuple[int, ...]:
    if text is None:
        return ()
    try:
        values = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise UserError(
            f"--alert takes percentages of the threshold such as 50,80,100, not {text!r}"
        ) from None
    if not values or any(not 1 <= value <= 100 for value in values):
        raise UserError("--alert takes percentages between 1 and 100, such as 50,80,100")
    return values


async def _scope(
    db: Store,
    key: str | None,
    team: str | None,
    tag: str | None = None,
    user: str | None = None,
    each_user: bool = False,
) -> tuple[Scope, str, str]:
    given = [
        flag for flag, value in (("--key", key), ("--team", team), ("--tag", tag), ("--user", user)) if value
    ]
    if len(given) != 1:
        raise UserError("give exactly one of --key KEY, --team TEAM, --tag TAG or --user USER")
    if each_user and not (key or team):
        raise UserError("--each-user goes with --key KEY or --team TEAM: each end user of that key or team")
    if tag is not None or user is not None:
        label = (tag or user or "").strip()
        if not label:
            raise UserError(f"{given[0]} cannot be empty")
        return ("tag" if tag is not None else "user"), label, label
    if key is not None:
        row = await find_key(db, key)
        return ("key_each_user" if each_user else "key"), row.id, row.name
    assert team is not None
    found = await find_team(db, team)
    return ("team_each_user" if each_user else "team"), found.id, found.name


async def _scope_name(db: Store, limit: LimitRow) -> str:
    if limit.scope in ("tag", "user"):
        return limit.scope_id
    if limit.scope in ("key", "key_each_user"):
        row = await db.keys.get_key_any(limit.scope_id)
        return row.name if row else limit.scope_id
    team = await db.keys.get_team(limit.scope_id)
    return team.name if team else limit.scope_id


async def limit_json(db: Store, limit: LimitRow) -> dict[str, Any]:
    """The limit with its current usage (settled, from the store) and when it resets. A limit on each
    end user shows the end user closest to it."""
    now = time.time()
    name = await _scope_name(db, limit)
    if limit.scope in ("key_each_user", "team_each_user"):
        per_user = await db.limits.users_usage_by_day(
            limit.scope.replace("_each_user", "_user"), limit.scope_id
        )
        day = day_of(now)
        users = {user: ScopeUsage.from_days(days) for user, days in per_user.items()}
        top = max(users, key=lambda u: users[u].used(limit.window, day, limit.metric), default=None)
        view = limit_view(limit, name, users[top] if top else ScopeUsage(), now)
        return {**view, "each_user": True, "top_user": top}
    usage = ScopeUsage.from_days(await db.limits.scope_usage_by_day(limit.scope, limit.scope_id))
    return limit_view(limit, name, usage, now)


@app.command("add")
def add(
    ctx: typer.Context,
    key: KeyOpt = None,
    team: TeamOpt = None,
    tag: TagOpt = None,
    user: UserOpt = None,
    each_user: EachUserOpt = False,
    metric: Annotated[
        str, typer.Option("--metric", help="cost (USD), requests or tokens (input + output).")
    ] = "",
    window: Annotated[
        str,
        typer.Option("--window", help="daily (00:00 UTC), weekly (Monday), monthly (the 1st) or all-time."),
    ] = "",
    threshold: Annotated[str, typer.Option("--threshold", help="USD for cost, else a count.")] = "",
    alert: Annotated[
        str | None, typer.Option("--alert", help="Percentages that raise an alert, e.g. 50,80,100.")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Cap a key, a team, a tag or an end user; at the threshold requests get 429 until the window resets.

    Example: olga limits add --team research --metric cost --window monthly --threshold 100 --alert 80,100
    Example: olga limits add --each-user --key app --metric cost --window daily --threshold 0.50
    """
    env = env_of(ctx)

    async def work() -> dict[str, Any]:
        if not metric or not window or not threshold:
            raise UserError(
                "--metric, --window and --threshold are required, "
                "e.g. --metric cost --window daily --threshold 5"
            )
        chosen_metric = parse_metric(metric)
        chosen_window = parse_window(window)
        value = parse_threshold(chosen_metric, threshold)
        percents = parse_alerts(alert)
        async with store(env) as db:
            scope, scope_id, _name = await _scope(db, key, team, tag, user, each_user)
            row = await db.limits.create_limit(
                scope=scope,
                scope_id=scope_id,
                metric=chosen_metric,
                window=chosen_window,
                threshold=value,
                alerts=percents,
            )
            return await limit_json(db, row)

    data = run(work())
    if json_out:
        print_json(data)
    else:
        console().print(
            f"Added limit {data['id']}: {scope_label(data['scope'])} '{escape(data['scope_name'])}', {data['window']} "
            f"{data['metric']} up to {'$' if data['metric'] == 'cost' else ''}{data['threshold']}."
        )


@app.command("list")
def list_limits(
    ctx: typer.Context, key: KeyOpt = None, team: TeamOpt = None, json_out: JsonOption = False
) -> None:
    """Every limit with its usage and reset, or those of one key or team; piped, tab-separated lines.

    On a narrow terminal the alerts column goes first, then resets; usage is never cut.
    Example: olga limits list --json
    """
    env = env_of(ctx)

    async def work() -> list[dict[str, Any]]:
        async with store(env) as db:
            if key is None and team is None:
                rows = await db.limits.list_limits()
            else:
                scope, scope_id, _name = await _scope(db, key, team)
                rows = await db.limits.list_limits(scope=scope, scope_id=scope_id)
            return [await limit_json(db, row) for row in rows]

    rows = run(work())
    if json_out:
        print_json(rows)
    elif not rows:
        console().print(
            "No limits. Add one with `olga limits add --key KEY --metric cost --window daily --threshold 5`."
        )
    else:
        emit(console(), limits_listing(rows))


@app.command("remove")
def remove(
    ctx: typer.Context, limit_id: Annotated[str, typer.Argument(metavar="ID")], json_out: JsonOption = False
) -> None:
    """Remove a limit by id (from `olga limits list`). Example: olga limits remove 3"""
    env = env_of(ctx)

    async def work() -> dict[str, Any]:
        try:
            number = int(limit_id)
        except ValueError:
            raise UserError(f"a limit id is a number from `olga limits list`, not {limit_id!r}") from None
        async with store(env) as db:
            row = await db.limits.get_limit(number)
            if row is None:
                raise UserError(f"no limit {number}; see `olga limits list`")
            data = await limit_json(db, row)
            await db.limits.remove_limit(number)
            return {**data, "status": "removed"}

    data = run(work())
    if json_out:
        print_json(data)
    else:
        console().print(f"Removed limit {data['id']}.")
