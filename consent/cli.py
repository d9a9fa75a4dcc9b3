"""Command line: ``flask consent translations ...`` or ``python -m consent translations ...``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import catalogs
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
    """Report missing, fuzzy or broken translations; exit 1 if there are any."""
    problems = catalogs.check(directory, locales)
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s)", err=True)
        sys.exit(1)
    click.echo("all catalogs complete")
