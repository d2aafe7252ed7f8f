"""Prompt rendering with the real espeak-ng and sox."""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import pytest
import yaml

from app.directory.schema import Directory
from app.prompts import PromptError, install_prompts, prompt_exists, render_prompts
from tests.support.parts import need

CATALOGUE = Path(__file__).parent / "catalogue.yaml"
NAMES = list(yaml.safe_load(CATALOGUE.read_text())["prompts"])


@pytest.fixture(autouse=True)
def tools():
    need(shutil.which("espeak-ng") is not None and shutil.which("sox") is not None, "espeak-ng and sox")


@pytest.fixture
def directory() -> Directory:
    return Directory.model_validate(
        {
            "districts": {"kuta": {"name": "Kuta", "lat": -8.72, "lon": 115.17}},
            "agencies": {"fire": {"name": "Damkar Badung", "kind": "fire"}},
            "units": [
                {
                    "id": "damkar-kuta",
                    "name": "Damkar Kuta",
                    "agency": "fire",
                    "districts": ["kuta"],
                    "lat": -8.72,
                    "lon": 115.17,
                    "dial": "PJSIP/damkar-kuta",
                }
            ],
            "fallback_group": {"name": "Call-takers", "dial": ["PJSIP/operator-1"]},
            "lines": {"112": {"name": "Darurat", "default_agency": "fire", "categories": {}}},
        }
    )


def render(tmp_path, directory=None, catalogue=CATALOGUE):
    return render_prompts(
        catalogue, directory, out_dir=tmp_path / "build", progress=False, recorded_dir=tmp_path / "recorded"
    )


def seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        return w.getnframes() / 8000


def test_every_prompt_is_rendered_in_both_languages_as_8khz_mono(tmp_path):
    report = render(tmp_path)
    assert sorted(report.rendered) == sorted(f"siaga/{lang}/{name}.wav" for name in NAMES for lang in ("id", "en"))
    for name in NAMES:
        for lang in ("id", "en"):
            assert prompt_exists(name, lang, out_dir=tmp_path / "build")
            assert seconds(tmp_path / "build" / "siaga" / lang / f"{name}.wav") > 0.5


def test_second_run_renders_nothing(tmp_path):
    first = render(tmp_path)
    again = render(tmp_path)
    assert again.rendered == [] and again.recorded == []
    assert sorted(again.cached) == sorted(first.rendered)


def test_changed_text_renders_only_that_prompt(tmp_path):
    render(tmp_path)
    catalogue = yaml.safe_load(CATALOGUE.read_text())
    catalogue["prompts"]["welcome"]["en"] = "Welcome to Siaga, the Badung emergency line."
    changed = tmp_path / "catalogue.yaml"
    changed.write_text(yaml.safe_dump(catalogue))
    report = render(tmp_path, catalogue=changed)
    assert report.rendered == ["siaga/en/welcome.wav"]


def test_recorded_prompt_replaces_the_generated_one(tmp_path):
    render(tmp_path)
    recording = tmp_path / "recorded" / "en" / "welcome.wav"
    recording.parent.mkdir(parents=True)
    # An operator's recording, deliberately not in Asterisk's format: 44.1 kHz stereo, 1.5 s.
    subprocess.run(["sox", "-n", "-r", "44100", "-c", "2", str(recording), "synth", "1.5", "sine", "440"], check=True)
    report = render(tmp_path)
    assert report.recorded == ["siaga/en/welcome.wav"] and report.rendered == []
    assert seconds(tmp_path / "build" / "siaga" / "en" / "welcome.wav") == pytest.approx(1.5, abs=0.01)
    recording.unlink()  # removing the recording brings the generated voice back
    assert render(tmp_path).rendered == ["siaga/en/welcome.wav"]


def test_demo_responders_announce_each_unit_and_the_group(tmp_path, directory):
    report = render(tmp_path, directory)
    assert {"siaga/demo/damkar-kuta.wav", "siaga/demo/fallback.wav"} <= set(report.rendered)
    assert seconds(tmp_path / "build" / "siaga" / "demo" / "damkar-kuta.wav") > 2


def test_a_prompt_missing_a_language_is_refused(tmp_path):
    broken = tmp_path / "catalogue.yaml"
    broken.write_text("prompts:\n  welcome:\n    id: Selamat datang\n")
    with pytest.raises(PromptError, match="'welcome' has no text for en"):
        render(tmp_path, catalogue=broken)


def test_install_copies_the_prompts_into_the_sounds_folder(tmp_path):
    render(tmp_path)
    sounds = tmp_path / "sounds"
    assert install_prompts(tmp_path / "build", sounds) == 2 * len(NAMES)
    assert (sounds / "siaga" / "id" / "welcome.wav").read_bytes() == (
        tmp_path / "build" / "siaga" / "id" / "welcome.wav"
    ).read_bytes()
    assert install_prompts(tmp_path / "build", sounds) == 0  # unchanged files are not copied again
