"""Typed actions the IVR engine asks an adapter to carry out."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Play:
    prompt: str  # catalogue name, e.g. "112-category"
    language: str  # "id" | "en"
    token: str  # unique per call; echoed back in PromptFinished


@dataclass(frozen=True)
class StopPlayback:
    token: str


@dataclass(frozen=True)
class StartTimer:
    token: str
    seconds: float


@dataclass(frozen=True)
class CancelTimer:
    token: str


@dataclass(frozen=True)
class Select:
    """A caller's choice to store on the case (field: language, category, district, ...)."""

    field: str
    value: str


@dataclass(frozen=True)
class Forward:
    """The IVR is over: put the caller through.

    ``reason`` says why the IVR ended: "selected" (the caller walked the menu),
    "operator" (pressed 0), "no-input" or "invalid-input".
    """

    line: str
    language: str
    category: str
    district: str
    reason: str


@dataclass(frozen=True)
class EndIvr:
    """The caller hung up during the IVR; nothing more to play."""

    menu: str


Action = Play | StopPlayback | StartTimer | CancelTimer | Select | Forward | EndIvr
