"""Spoken prompts: rendered from ``catalogue.yaml`` (or replaced by recordings), played by Asterisk.

Asterisk plays a prompt as sound ``siaga/<lang>/<name>`` (see
``app.asterisk.constants.sound``); the files are built into ``var/prompts/``
and installed into Asterisk's sounds folder.
"""

from app.prompts.render import (
    RECORDED,
    VOICES,
    PromptError,
    RenderReport,
    install_prompts,
    load_catalogue,
    prompt_exists,
    render_prompts,
)

__all__ = [
    "RECORDED",
    "VOICES",
    "PromptError",
    "RenderReport",
    "install_prompts",
    "load_catalogue",
    "prompt_exists",
    "render_prompts",
]
