"""`sync validate`: load the config, render it, and evaluate the guardrails that need no live
state. Reads the config's files only: no backend, no state store (a pre-commit hook runs it
offline)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from engine.config import Config, load_config
from engine.config.errors import ConfigError, ConfigErrors
from engine.desired.render import DesiredState, render
from engine.guardrails.evaluate import evaluate_config
from engine.guardrails.report import GuardrailReport


@dataclass(frozen=True, slots=True)
class Validation:
    """What validation found: the config errors, or the config, its desired state and (unless
    skipped) the offline guardrail report."""

    errors: tuple[ConfigError, ...] = ()
    config: Config | None = None
    state: DesiredState | None = None
    report: GuardrailReport | None = None


def validate_config(config_dir: Path, *, now: datetime, guardrails: bool = True) -> Validation:
    try:
        config = load_config(config_dir)
    except ConfigErrors as errors:
        return Validation(errors=tuple(errors.errors))
    state = render(config, now)
    report = evaluate_config(config, state, now=now) if guardrails else None
    return Validation(config=config, state=state, report=report)
