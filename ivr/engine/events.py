"""Typed events the adapters feed into the IVR engine (past tense: they happened)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DigitPressed:
    digit: str  # one of 0-9 * # (anything else is treated as invalid input)


@dataclass(frozen=True)
class PromptFinished:
    token: str  # the token of the Play action whose audio ended


@dataclass(frozen=True)
class TimerExpired:
    token: str  # the token of the StartTimer action that fired


@dataclass(frozen=True)
class CallerHungUp:
    pass


Event = DigitPressed | PromptFinished | TimerExpired | CallerHungUp
