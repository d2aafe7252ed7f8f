"""A broken catalogue or recording is refused naming the file, the prompt and the reason."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from app import paths
from app.prompts import PromptError, load_catalogue, render_prompts
from ivr.engine.menus import MenuError, catalogue_prompts, load_menus, validate
from tests.support.parts import need

SIAGA = Path(sys.executable).parent / "siaga"


@pytest.fixture
def without_english_category(tmp_path) -> Path:
    """A copy of the shipped catalogue whose 112-category prompt lost its English text."""
    data = yaml.safe_load(paths.PROMPTS_CATALOGUE.read_text())
    del data["prompts"]["112-category"]["en"]
    path = tmp_path / "catalogue.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def test_catalogue_entry_missing_a_language_names_file_prompt_and_language(without_english_category):
    with pytest.raises(PromptError) as caught:
        load_catalogue(without_english_category)
    assert str(caught.value) == f"{without_english_category}: prompt '112-category' has no text for en"


def test_menus_using_that_prompt_name_file_menu_key_and_language(without_english_category):
    with pytest.raises(MenuError) as caught:
        validate(load_menus(), catalogue_prompts(without_english_category))
    assert str(caught.value) == "112.yaml: menus.category.prompt: prompt '112-category' is missing in 'en'"


@pytest.mark.parametrize(
    "text, reason",
    [
        ("prompts:\n  welcome: {id: a, en: b\n", "not valid YAML"),
        ("prompts:\n  welcome: just a string\n", "prompts.welcome: must be a mapping of language -> text, not str"),
        ("- a list\n", "prompts: must be a mapping"),
    ],
)
def test_a_malformed_catalogue_is_refused_naming_the_file(tmp_path, text, reason):
    path = tmp_path / "catalogue.yaml"
    path.write_text(text)
    with pytest.raises(PromptError, match=f"^{path}: ") as caught:
        load_catalogue(path)
    assert reason in str(caught.value)


def test_a_recorded_prompt_that_is_not_audio_names_the_recording(tmp_path):
    need(shutil.which("espeak-ng") is not None and shutil.which("sox") is not None, "espeak-ng and sox")
    catalogue = tmp_path / "catalogue.yaml"
    catalogue.write_text("prompts:\n  welcome: {id: Selamat datang, en: Welcome}\n")
    recording = tmp_path / "recorded" / "id" / "welcome.wav"
    recording.parent.mkdir(parents=True)
    recording.write_text("this is a text file with a .wav name\n")
    with pytest.raises(PromptError) as caught:
        render_prompts(catalogue, None, out_dir=tmp_path / "build", progress=False, recorded_dir=tmp_path / "recorded")
    message = str(caught.value)
    assert message.startswith(f"{recording}: not a readable audio file (sox: ") and "\n" not in message


def test_prompts_render_refuses_the_catalogue_with_one_line_and_exit_2(tmp_path, without_english_category):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIAGA_")}
    result = subprocess.run(
        [
            str(SIAGA),
            "prompts",
            "render",
            "--catalogue",
            str(without_english_category),
            "--out",
            str(tmp_path / "out"),
            "--no-install",
        ],
        env={**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    output = (result.stdout + result.stderr).strip()
    assert output == f"siaga: {without_english_category}: prompt '112-category' has no text for en"
