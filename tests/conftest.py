"""Shared fixtures: real configs written to a temp dir, loaded by the real loader."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sp_api.auth import access_token_client

from engine.config import Config, load_config
from tests.minimal_config import write_config


@pytest.fixture(autouse=True)
def _fresh_access_tokens() -> Iterator[None]:
    """python-amazon-sp-api caches access tokens process-wide, keyed by refresh token only.
    Every test's sandbox issues its own tokens for the same demo refresh token, so a token
    cached by one test would be refused (403) by the next test's sandbox."""
    access_token_client.cache.clear()
    yield
    access_token_client.cache.clear()


NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., Config]:
    """make_config({"file": "text"}) -> the loaded minimal config with those changes."""

    def build(changes: dict[str, str | None] | None = None) -> Config:
        return load_config(write_config(tmp_path / "config", changes))

    return build


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    return write_config(tmp_path / "config")


@pytest.fixture
def seeded_config(tmp_path: Path) -> Callable[..., Config]:
    """seeded_config({"file": "text"}) -> the loaded minimal config (with those changes) whose
    sandbox, in the config's state_dir, is seeded at NOW on a frozen virtual clock: commands
    that open the backend from this config see the seeded demo account and wait no real time.
    """

    def build(changes: dict[str, str | None] | None = None) -> Config:
        from engine.flows.connect import sandbox_seed
        from engine.sandbox.clock import VirtualClock
        from engine.sandbox.runtime import Sandbox

        config = load_config(write_config(tmp_path / "config", changes))
        box = Sandbox.open(
            config.state_dir, seed=sandbox_seed(config, NOW), clock=VirtualClock.frozen_at(NOW)
        )
        box.store.close()
        return config

    return build
