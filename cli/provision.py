"""Provisioning commands: ``siaga prompts ...`` and ``siaga asterisk ...``."""

from __future__ import annotations

import functools
from pathlib import Path

import typer
from rich.console import Console

from app import paths
from cli.options import Profile, group, profile_option

console = Console(soft_wrap=True)
prompts_app = group()
asterisk_app = group()

NameOpt = typer.Option("main", "--name", help="Instance name: its own folder, log and control socket.")


def register(cli: typer.Typer) -> None:
    """Add the provisioning commands to the top-level CLI."""
    cli.add_typer(prompts_app, name="prompts", help="Build the spoken prompts (espeak-ng, or operator recordings).")
    cli.add_typer(asterisk_app, name="asterisk", help="Render, run and inspect the Asterisk 22 instance.")


def _readable_errors(command):
    """Known failures (busy port, missing secret, bad directory) as one red line, not a traceback."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        from app.asterisk import AsteriskError
        from app.prompts import PromptError

        try:
            return command(*args, **kwargs)
        except (AsteriskError, PromptError, ValueError, OSError) as exc:
            console.print(f"[red]siaga: {exc}[/]", markup=True, highlight=False)
            raise typer.Exit(2) from None

    return run


def _settings(profile: str | None):
    from cli.config import load_settings

    return load_settings(profile)


def load_directory_of(settings):
    """The agency directory named by ``settings.directory``."""
    path = Path(settings.directory)
    try:
        from app.directory.loader import load_directory
    except ModuleNotFoundError:  # the loader is not there yet: validate the schema only
        import yaml

        from app.directory.schema import Directory

        return Directory.model_validate(yaml.safe_load(path.read_text()))
    return load_directory(path)


def _short(path: Path) -> str:
    """A path relative to the checkout when it is inside it."""
    try:
        return str(Path(path).resolve().relative_to(paths.ROOT))
    except ValueError:
        return str(path)


def _instance(profile: str | None, name: str):
    from app.asterisk import AsteriskInstance

    settings = _settings(profile)
    return AsteriskInstance(settings, load_directory_of(settings), name=name)


@prompts_app.command("render")
@_readable_errors
def prompts_render(
    catalogue: Path = typer.Option(
        paths.PROMPTS_CATALOGUE, help="Prompt catalogue (YAML: prompts: {name: {id: ..., en: ...}})."
    ),
    out: Path = typer.Option(paths.PROMPTS_BUILD, help="Build folder; files land in <out>/siaga/<lang>/<name>.wav."),
    install: bool = typer.Option(True, help="Also copy the prompts into Asterisk's sounds folder."),
    profile: Profile | None = profile_option(),
) -> None:
    """Render every prompt in Indonesian and English, plus the demo responders' announcements.

    Unchanged prompts are not rendered again. A WAV in prompts/recorded/<lang>/<name>.wav
    replaces the generated voice of that prompt.
    """
    from app.prompts import install_prompts, render_prompts

    settings = _settings(profile)
    if not catalogue.exists():
        console.print(f"[yellow]no prompt catalogue at {catalogue}; nothing to render[/]")
        return
    try:
        directory = load_directory_of(settings)
    except FileNotFoundError:
        console.print(f"[yellow]no directory at {settings.directory}: demo responder prompts skipped[/]")
        directory = None
    report = render_prompts(catalogue, directory, out_dir=out, progress=console.is_terminal)
    console.print(
        f"prompts: {len(report.rendered)} rendered, {len(report.recorded)} from recordings, "
        f"{len(report.cached)} unchanged -> {_short(out)}",
        soft_wrap=True,
    )
    installed = 0
    if install:
        from app.asterisk import AsteriskNotFound, find_asterisk

        try:
            sounds = find_asterisk(settings).sounds_dir
        except AsteriskNotFound as exc:
            console.print(f"[yellow]not installed into Asterisk: {exc}[/]")
        else:
            installed = install_prompts(out, sounds)
            console.print(f"prompts: {installed} changed files installed into {_short(sounds)}/siaga", soft_wrap=True)
    if report.rendered or report.recorded or installed:  # bootstrap renders on every start: record changes only
        from cli.audit import note

        note(
            settings.database.url,
            "prompts.render",
            str(Path(catalogue).resolve()),
            {"rendered": sorted(report.rendered), "recorded": sorted(report.recorded), "installed": installed},
        )


@asterisk_app.command("render")
@_readable_errors
def asterisk_render(profile: Profile | None = profile_option(), name: str = NameOpt) -> None:
    """Write the instance's Asterisk configuration (from the settings and the directory) without starting it."""
    instance = _instance(profile, name)
    instance.render()
    console.print(f"rendered {instance.dir / 'etc'}")


@asterisk_app.command("start")
@_readable_errors
def asterisk_start(
    profile: Profile | None = profile_option(),
    name: str = NameOpt,
    timeout: float = typer.Option(60, help="Seconds to wait for Asterisk to be fully booted."),
) -> None:
    """Run Asterisk in the foreground until Ctrl-C (for debugging; `siaga run` starts it for real)."""
    instance = _instance(profile, name)
    s = instance.settings
    with instance:
        console.print(
            f"Asterisk '{name}' is up: SIP udp {s.sip.bind_host}:{s.sip.port}, ARI {s.ari.base_url} (user {s.ari.user})"
        )
        console.print(f"log: {instance.log_path} and {instance.dir / 'log' / 'messages'}")
        console.print(f"CLI: siaga asterisk cli --name {name} 'pjsip show endpoints'   Ctrl-C stops it.")
        try:
            code = instance.wait()
            console.print(f"[red]Asterisk exited on its own with code {code}; see {instance.log_path}[/]")
            raise typer.Exit(1)
        except KeyboardInterrupt:
            console.print("stopping Asterisk ...")


@asterisk_app.command("status")
@_readable_errors
def asterisk_status(profile: Profile | None = profile_option(), name: str = NameOpt) -> None:
    """Say whether the instance answers, with its uptime and SIP endpoints."""
    instance = _instance(profile, name)
    if not instance.answering():
        console.print(f"Asterisk '{name}' is not running (no answer on its control socket in {instance.dir / 'run'})")
        raise typer.Exit(1)
    console.print(instance.cli("core show uptime").strip())
    console.print("PJSIP endpoints: " + instance.cli("pjsip show endpoints").strip().splitlines()[-1])


@asterisk_app.command("cli")
@_readable_errors
def asterisk_cli(
    command: str = typer.Argument(..., help="An Asterisk CLI command, e.g. 'pjsip show contacts'."),
    profile: Profile | None = profile_option(),
    name: str = NameOpt,
) -> None:
    """Run one Asterisk CLI command on the running instance and print its output."""
    console.print(_instance(profile, name).cli(command), end="", markup=False, highlight=False)
