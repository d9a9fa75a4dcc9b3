"""Command line: ``flask consent translations ...`` or ``python -m consent translations ...``."""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from flask.cli import NoAppException, ScriptInfo, with_appcontext

from . import catalogs
from .config import EXTENSION_KEY
from .i18n import shipped_catalog_dir

directory_option = click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=shipped_catalog_dir,
    show_default="the shipped translations/ folder",
    help="Folder holding consent.pot and <locale>/LC_MESSAGES/consent.po.",
)


@click.group("consent")
def consent_cli() -> None:
    """Cookie-consent tools."""


@consent_cli.group("translations")
def translations_cli() -> None:
    """Extract, update, create and check the gettext catalogs."""


@translations_cli.command("extract")
@directory_option
def extract_command(directory: Path) -> None:
    """Rewrite consent.pot from the strings in the code and templates."""
    changed = catalogs.write_template(directory)
    path = catalogs.template_path(directory)
    click.echo(f"{'wrote' if changed else 'unchanged:'} {path}")


@translations_cli.command("update")
@directory_option
@click.argument("locales", nargs=-1)
def update_command(directory: Path, locales: tuple[str, ...]) -> None:
    """Merge consent.pot into the catalogs (all, or the LOCALES named)."""
    for locale in catalogs.update(directory, locales):
        click.echo(f"updated {catalogs.catalog_path(directory, locale)}")


@translations_cli.command("init")
@directory_option
@click.argument("locale")
def init_command(directory: Path, locale: str) -> None:
    """Start a catalog for a new LOCALE (e.g. eo, pt_BR, zh_Hant)."""
    try:
        path = catalogs.init(directory, locale)
    except (ValueError, FileExistsError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created {path}: translate every msgstr, then run check")


@translations_cli.command("check")
@directory_option
@click.argument("locales", nargs=-1)
def check_command(directory: Path, locales: tuple[str, ...]) -> None:
    """Report missing, fuzzy or broken translations; exit 1 if there are any.

    Run through ``flask``, it also checks the app's own texts (its categories'
    labels and descriptions, its cookies' purposes) in every locale it offers.
    """
    problems: list[object] = list(catalogs.check(directory, locales))
    config = _app_config()
    if config is not None:
        problems.extend(catalogs.check_site_texts(config.policy, config.catalogs))
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s)", err=True)
        sys.exit(1)
    click.echo("all catalogs complete" + (" and every site text translated" if config else ""))


def _app_config() -> Any:
    """The consent settings of the app ``flask`` loads, or ``None`` (``python -m consent``,
    or an app without the extension)."""
    info = click.get_current_context().find_object(ScriptInfo)
    if info is None:
        return None
    try:
        app = info.load_app()
    except NoAppException:
        return None
    return app.extensions.get(EXTENSION_KEY)


@consent_cli.group("receipts")
def receipts_cli() -> None:
    """Proof of consent: look up, export, prune and count receipts."""


def _store() -> Any:
    from flask import current_app

    from .config import get_config

    store = get_config(current_app).receipts
    if store is None:
        raise click.ClickException("receipts are off: set CONSENT_RECEIPTS_URL")
    return store


def _day(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date such as 2026-11-25") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# An id a visitor quotes may start with "-" (older ones do): it is the
# argument, never an option.
@receipts_cli.command("show", context_settings={"ignore_unknown_options": True})
@click.argument("consent_id")
@with_appcontext
def show_command(consent_id: str) -> None:
    """Every decision recorded for one CONSENT_ID, oldest first."""
    history = _store().history(consent_id)
    if not history:
        raise click.ClickException(f"no receipts for consent id {consent_id!r}")
    for r in history:
        flags = " ".join(
            name
            for name, on in (
                ("gpc", r.gpc),
                ("withdrawal", r.withdrawal),
                ("reconsent", r.reconsent),
            )
            if on
        )
        click.echo(
            f"{r.created_at.isoformat(timespec='seconds')}  {r.action:<7} via {r.control:<8}"
            f" granted: {' '.join(r.granted) or '-'}  refused: {' '.join(r.refused) or '-'}"
            f"  unanswered: {' '.join(r.unanswered) or '-'}"
            f"  revision {r.revision}  {r.locale}  text {r.banner_fingerprint}"
            + (f"  [{flags}]" if flags else "")
        )


@receipts_cli.command("export")
@click.option("--since", help="First day (YYYY-MM-DD), inclusive.")
@click.option("--until", help="Last moment (YYYY-MM-DD), exclusive.")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="jsonl", show_default=True
)
@with_appcontext
def export_command(since: str | None, until: str | None, fmt: str) -> None:
    """Stream receipts to standard output (constant memory)."""
    rows = _store().export(_day(since), _day(until))
    out = sys.stdout
    if fmt == "jsonl":
        for receipt in rows:
            out.write(json.dumps(receipt.as_json(), separators=(",", ":")) + "\n")
        return
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for receipt in rows:
        data = receipt.as_json()
        for name in ("granted", "refused", "unanswered"):
            data[name] = " ".join(data[name])
        writer.writerow([data[c] for c in CSV_COLUMNS])


CSV_COLUMNS = (
    "receipt_id",
    "created_at",
    "consent_id",
    "revision",
    "banner_fingerprint",
    "locale",
    "granted",
    "refused",
    "unanswered",
    "action",
    "control",
    "gpc",
    "withdrawal",
    "reconsent",
)


@receipts_cli.command("prune")
@click.option(
    "--older-than", help="An age such as 3y, 18m or 90d; default CONSENT_RECEIPTS_RETENTION."
)
@with_appcontext
def prune_command(older_than: str | None) -> None:
    """Delete receipts older than the retention period."""
    from flask import current_app

    from .config import get_config
    from .receipts import parse_age

    store = _store()
    if older_than is not None:
        try:
            age = parse_age(older_than)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--older-than") from None
    else:
        retention = get_config(current_app).receipts_retention
        if retention is None:
            raise click.UsageError("give --older-than or set CONSENT_RECEIPTS_RETENTION")
        age = retention
    click.echo(f"deleted {store.prune(age)} receipt(s) older than {age.days} days")


@receipts_cli.command("stats")
@click.option("--by", type=click.Choice(["day", "category"]), default="day", show_default=True)
@click.option("--since", help="First day (YYYY-MM-DD).")
@with_appcontext
def stats_command(by: str, since: str | None) -> None:
    """Opt-in rates per day or per category."""
    rows = _store().stats(by, _day(since))
    if not rows:
        click.echo("no receipts")
        return
    columns = list(rows[0])
    click.echo("  ".join(f"{c:>12}" for c in columns))
    for row in rows:
        click.echo("  ".join(f"{'-' if row[c] is None else row[c]!s:>12}" for c in columns))


@receipts_cli.command("import")
@click.argument("source", type=click.File("r", encoding="utf-8", errors="replace"))
@with_appcontext
def import_command(source: Any) -> None:
    """Write the receipts in SOURCE (``-``: standard input) to the store.

    One receipt per line, as ``export`` writes them, or the ``consent receipt LOST``
    lines of a log (each ends with the receipt's JSON). Receipts already stored
    are skipped, so running it twice writes nothing twice.
    """
    from .receipts import BATCH, receipt_from_text

    store = _store()
    batch: list[Any] = []
    written = read = unreadable = 0
    for line in source:
        if not line.strip():
            continue
        start = line.find('{"consent_id"')
        try:
            batch.append(receipt_from_text(line[start:] if start >= 0 else line))
        except ValueError:
            unreadable += 1
            continue
        if len(batch) == BATCH:
            written, read, batch = written + store.write(batch), read + len(batch), []
    written, read = written + store.write(batch), read + len(batch)
    click.echo(f"wrote {written} receipt(s); {read - written} were stored already")
    if unreadable:
        raise click.ClickException(f"{unreadable} line(s) hold no receipt")


@receipts_cli.command("flush")
@with_appcontext
def flush_command() -> None:
    """Write receipts waiting in the spool now (the app's workers also do, in the
    background, once the store is back)."""
    store = _store()
    try:
        written = store.flush_spool()
    except Exception as exc:
        raise click.ClickException(
            f"the receipt store is unavailable ({exc}); {store.spooled()} receipt(s)"
            f" still wait in {store.spool_path}"
        ) from None
    click.echo(f"wrote {written} spooled receipt(s)")
    if store.spool.unreadable_path.exists():
        click.echo(
            f"entries that cannot be read as receipts are kept in {store.spool.unreadable_path}",
            err=True,
        )
