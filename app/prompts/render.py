"""Prompt audio: catalogue text -> espeak-ng -> sox -> 8 kHz mono 16-bit WAV.

Principle: the build folder is a cache. A file is made again only when its
source changed: the text and voice for a generated prompt, the file content
for an operator recording. A recording at ``prompts/recorded/<lang>/<name>.wav``
(or ``prompts/recorded/demo/<unit-id>.wav``) always wins over the generated voice.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from app import paths
from app.directory.schema import Directory

VOICES = {"id": "id", "en": "en-us"}  # catalogue language -> espeak-ng voice
DEMO_VOICE = "en-us"
DEMO_TEXT = "This is {name}, Siaga demo responder. You are connected; what you say is echoed back."
RECORDED = paths.ROOT / "prompts" / "recorded"
# Part of every cache key: change it when the pipeline's output would change.
PIPELINE = "espeak-ng -s 175 | sox -r 8000 -c 1 -b 16 norm -3 | v1"
SOX_OUT = ["-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer"]
MANIFEST = ".siaga-prompts.json"


class PromptError(RuntimeError):
    pass


@dataclass(frozen=True)
class Job:
    rel: str  # path under the build folder, e.g. "siaga/id/please-hold.wav"
    text: str
    voice: str
    recorded: Path | None  # an operator recording that replaces the generated voice

    def key(self) -> str:
        source = self.recorded.read_bytes() if self.recorded else f"{self.voice}\0{self.text}".encode()
        return hashlib.sha256(PIPELINE.encode() + b"\0" + source).hexdigest()


@dataclass
class RenderReport:
    rendered: list[str] = field(default_factory=list)  # generated with espeak-ng this run
    recorded: list[str] = field(default_factory=list)  # converted from an operator recording this run
    cached: list[str] = field(default_factory=list)  # unchanged since the last run


def load_catalogue(path: Path) -> dict[str, dict[str, str]]:
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except yaml.YAMLError as exc:
        raise PromptError(f"{path}: not valid YAML: {exc}") from None
    prompts = data.get("prompts") if isinstance(data, dict) else None
    if not isinstance(prompts, dict):
        raise PromptError(f"{path}: prompts: must be a mapping of name -> {{id: ..., en: ...}}")
    for name, texts in prompts.items():
        if texts is not None and not isinstance(texts, dict):
            raise PromptError(
                f"{path}: prompts.{name}: must be a mapping of language -> text, not {type(texts).__name__}"
            )
        missing = [lang for lang in VOICES if not (texts or {}).get(lang)]
        if missing:
            raise PromptError(f"{path}: prompt {name!r} has no text for {', '.join(missing)}")
    return prompts


def plan(catalogue: dict[str, dict[str, str]], directory: Directory | None, recorded_dir: Path = RECORDED) -> list[Job]:
    """Every file to build: each prompt in each language, plus the demo responders."""
    wanted = [
        (f"{lang}/{name}", texts[lang], voice) for name, texts in catalogue.items() for lang, voice in VOICES.items()
    ]
    if directory is not None:
        speakers = [(u.id, u.name) for u in directory.units] + [("fallback", directory.fallback_group.name)]
        wanted += [(f"demo/{key}", DEMO_TEXT.format(name=name), DEMO_VOICE) for key, name in speakers]
    jobs = []
    for stem, text, voice in wanted:
        recorded = Path(recorded_dir) / f"{stem}.wav"
        jobs.append(Job(f"siaga/{stem}.wav", text, voice, recorded if recorded.is_file() else None))
    return jobs


def render_prompts(
    catalogue_path: Path = paths.PROMPTS_CATALOGUE,
    directory: Directory | None = None,
    out_dir: Path = paths.PROMPTS_BUILD,
    progress: bool = True,
    recorded_dir: Path = RECORDED,
) -> RenderReport:
    """Build every prompt into ``out_dir/siaga/<lang>/<name>.wav`` (and ``siaga/demo/``)."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise PromptError(f"{tool} is not installed; run `make bootstrap`")
    out_dir = Path(out_dir)
    jobs = plan(load_catalogue(catalogue_path), directory, recorded_dir)
    manifest_path = out_dir / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    report = RenderReport()
    todo = []
    for job in jobs:
        key = job.key()
        if manifest.get(job.rel) == key and (out_dir / job.rel).exists():
            report.cached.append(job.rel)
        else:
            todo.append((job, key))
    bar = _progress(progress, len(jobs), len(report.cached))
    try:
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            futures = {pool.submit(_build, job, out_dir / job.rel): (job, key) for job, key in todo}
            for done in as_completed(futures):
                job, key = futures[done]
                done.result()
                manifest[job.rel] = key
                (report.recorded if job.recorded else report.rendered).append(job.rel)
                bar.advance(job.rel)
    finally:
        bar.close()
        out_dir.mkdir(parents=True, exist_ok=True)
        manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return report


def install_prompts(out_dir: Path, sounds_dir: Path) -> int:
    """Copy ``out_dir/siaga/`` into Asterisk's sounds folder; returns how many files changed."""
    copied = 0
    for source in sorted((Path(out_dir) / "siaga").rglob("*.wav")):
        target = Path(sounds_dir) / source.relative_to(out_dir)
        stat = source.stat()
        if target.exists() and target.stat().st_size == stat.st_size and target.stat().st_mtime == stat.st_mtime:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        copied += 1
    return copied


def prompt_exists(name: str, lang: str, out_dir: Path = paths.PROMPTS_BUILD) -> bool:
    return (Path(out_dir) / "siaga" / lang / f"{name}.wav").is_file()


def _build(job: Job, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="siaga-prompt-") as tmp:
        source = job.recorded
        if source is None:
            source = Path(tmp) / "voice.wav"
            _run(["espeak-ng", "-v", job.voice, "-s", "175", "-w", str(source), "--stdin"], job, stdin=job.text)
        out = Path(tmp) / "out.wav"
        # A recording is the operator's file: name it, not the build output, when sox cannot read it.
        _run(
            ["sox", str(source), *SOX_OUT, str(out), "norm", "-3"],
            job,
            what=str(job.recorded) if job.recorded else None,
        )
        shutil.move(out, target)  # whole files only: Asterisk may be playing the old one


def _run(cmd: list[str], job: Job, stdin: str | None = None, what: str | None = None) -> None:
    done = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        reason = " ".join(done.stderr.split())  # one line: sox splits its complaint over several
        if what:
            raise PromptError(f"{what}: not a readable audio file ({cmd[0]}: {reason})")
        raise PromptError(f"{job.rel}: {cmd[0]} failed: {reason}")


class _progress:
    """A rich progress bar, or nothing when ``enabled`` is false (tests, pipes)."""

    def __init__(self, enabled: bool, total: int, cached: int):
        self._bar = None
        if not enabled:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._bar = Progress(
            TextColumn("prompts"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[last]}"),
        )
        self._bar.start()
        self._task = self._bar.add_task("prompts", total=total, completed=cached, last=f"{cached} unchanged")

    def advance(self, label: str) -> None:
        if self._bar:
            self._bar.update(self._task, advance=1, last=label)

    def close(self) -> None:
        if self._bar:
            self._bar.stop()
