"""`sync validate`: load the config, render it, and evaluate the guardrails that need no live
state. Reads the config's files only: no backend, no state store (a pre-commit hook runs it
offline).

`--live` also checks every desired listing against its product type's definition, fetched
through the backend (getDefinitionsProductType, cached in the state folder by
engine.live.definitions) and checked purely (engine.desired.product_types): the attributes
Amazon requires, its enumerations and lengths, before anything is written."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.config import Config, load_config
from engine.config.errors import ConfigError, ConfigErrors
from engine.core.resource import Resource
from engine.desired.product_types import ListingProblem, listing_problems
from engine.desired.render import DesiredState, render
from engine.guardrails.evaluate import evaluate_config
from engine.guardrails.report import GuardrailReport

if TYPE_CHECKING:  # the offline validate (a pre-commit hook) does not load the SP-API client
    from engine.live.backend import Backend


@dataclass(frozen=True, slots=True)
class Validation:
    """What validation found: the config errors, or the config, its desired state, (unless
    skipped) the offline guardrail report and (with --live) what Amazon's product type
    definitions say about the listings."""

    errors: tuple[ConfigError, ...] = ()
    config: Config | None = None
    state: DesiredState | None = None
    report: GuardrailReport | None = None
    listings: tuple[ListingProblem, ...] = ()

    def all_errors(self) -> list[ConfigError]:
        return list(self.errors) + [p.error() for p in self.listings]


def validate_config(
    config_dir: Path, *, now: datetime, guardrails: bool = True, live: bool = False
) -> Validation:
    try:
        config = load_config(config_dir)
    except ConfigErrors as errors:
        return Validation(errors=tuple(errors.errors))
    state = render(config, now)
    report = evaluate_config(config, state, now=now) if guardrails else None
    problems: tuple[ListingProblem, ...] = ()
    if live:
        from engine.flows.session import live_session

        with live_session(config) as (backend, _):
            schemas = product_type_schemas(backend, state.resources.values())
        problems = tuple(listing_problems(config, state.resources.values(), schemas))
    return Validation(config=config, state=state, report=report, listings=problems)


def product_type_schemas(
    backend: Backend, resources: Iterable[Resource]
) -> dict[tuple[str, str], Mapping[str, Any] | None]:
    """The LISTING schema of every (marketplace, product type) the listings use; None for a
    product type Amazon has no definition of (it answers 404)."""
    from engine.live.clients import SpApiError

    schemas: dict[tuple[str, str], Mapping[str, Any] | None] = {}
    for key in sorted({(r.marketplace, r.product_type) for r in resources}):
        try:
            schemas[key] = backend.product_type_definition(*key).schema
        except SpApiError as err:
            if err.status != 404:
                raise
            schemas[key] = None
    return schemas
