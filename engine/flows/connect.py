"""From config to a connected backend: credentials, endpoints, and the embedded sandbox.

Credentials come from the environment (`SP_API_REFRESH_TOKEN`, `LWA_APP_ID`,
`LWA_CLIENT_SECRET`) or from the JSON file `backend.credentials_file` names (keys
`refresh_token`, `lwa_app_id`, `lwa_client_secret`), never from YAML in git: a credentials
file inside the config's git repository is refused. A missing or rejected credential is one
UserError line. Regions (NA / EU / FE) follow each marketplace; `backend.endpoint` points
both the API and the token exchange at another server.

With `backend.kind: sandbox`, `open_backend` opens the embedded sandbox in the config's state
directory (seeded from the rendered desired state, as `sync sandbox` does: the caller passes
`seed`, which gives those listings and is called only when the sandbox has no account yet;
a refreshing plan hands over the render it makes anyway), serves it on an
ephemeral 127.0.0.1 port and points the same SpApiBackend at it, waiting on the sandbox's
virtual clock (engine.sandbox.clock.ClockTimer, advancing it) rather than in real time.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.config.model import Config
from engine.core.resource import Resource
from engine.live.clients import Connection, CredentialError
from engine.live.spapi import SpApiBackend
from engine.live.throttle import AppLimiter

ENV_KEYS = {
    "refresh_token": "SP_API_REFRESH_TOKEN",
    "lwa_app_id": "LWA_APP_ID",
    "lwa_client_secret": "LWA_CLIENT_SECRET",
}


def _git_root(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def load_credentials(config: Config, env: Mapping[str, str]) -> dict[str, str]:
    """The LWA credentials: all three from the environment, else the credentials file."""
    from_env = {key: env.get(name, "") for key, name in ENV_KEYS.items()}
    if all(from_env.values()):
        return from_env
    name = config.project.backend.credentials_file
    if name is None:
        missing = ", ".join(n for k, n in ENV_KEYS.items() if not from_env[k])
        raise CredentialError(
            f"no SP-API credentials: set {missing} in the environment, or name a JSON "
            "credentials file outside the repository as backend.credentials_file in "
            "project.yaml"
        )
    path = (config.root / Path(name).expanduser()).resolve()
    repo = _git_root(config.root.resolve())
    if repo is not None and path.is_relative_to(repo):
        raise CredentialError(
            f"backend.credentials_file {name} is inside the git repository {repo}; "
            "keep secrets out of git and move the file elsewhere"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CredentialError(f"backend.credentials_file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CredentialError(f"cannot read backend.credentials_file {path}: {err}") from None
    if not isinstance(data, dict):
        raise CredentialError(f"backend.credentials_file {path} must hold a JSON object")
    missing = [k for k in ENV_KEYS if not isinstance(data.get(k), str) or not data[k]]
    if missing:
        raise CredentialError(f"backend.credentials_file {path} has no {', '.join(missing)}")
    return {k: data[k] for k in ENV_KEYS}


def sandbox_seed(config: Config, now: datetime) -> tuple[str, list[Resource]]:
    """The seller id and the rendered desired state the sandbox is seeded from."""
    from engine.desired.render import render

    return config.project.seller_id, list(render(config, now).resources.values())


@contextmanager
def open_backend(
    config: Config,
    *,
    env: Mapping[str, str] | None = None,
    now: Callable[[], datetime] | None = None,
    seed: Callable[[], Iterable[Resource]] | None = None,
    app_quota: Callable[[str], AppLimiter | None] | None = None,
    **options: Any,
) -> Iterator[SpApiBackend]:
    """A connected backend for the config; closes it (and stops a sandbox) on exit.
    `seed`: the listings an unseeded sandbox starts with (called only then; default: the
    config rendered now, `sandbox_seed`). `app_quota`: given the LWA client id of the
    application the backend calls as, the application-wide limiter to pass after the
    seller's own buckets (engine.flows.session), or None. `options` go to SpApiBackend
    (timer, recorder, bulk_threshold, ...)."""

    def shared(client_id: str) -> AppLimiter | None:
        return None if app_quota is None else app_quota(client_id)

    backend = config.project.backend
    state_dir = config.state_dir
    if backend.kind == "sandbox":
        from engine.sandbox.clock import ClockTimer
        from engine.sandbox.runtime import Sandbox
        from engine.sandbox.store import Store

        store = Store(state_dir)
        seeded = store.is_seeded()
        store.close()
        first: tuple[str, list[Resource]] | None = None
        if not seeded:
            first = (
                sandbox_seed(config, datetime.now(UTC))
                if seed is None
                else (config.project.seller_id, list(seed()))
            )
        with Sandbox.open(state_dir, seed=first, source=config.root.resolve()) as box:
            # Waits move the embedded sandbox's time on: a command never sleeps for it.
            options.setdefault("timer", ClockTimer(box.clock, advance=box.advance))
            live = SpApiBackend(
                Connection(box.credentials.as_spapi_credentials(), endpoint=box.url),
                config.project.seller_id,
                state_dir=state_dir,
                now=now or box.clock.now,
                kind="sandbox",
                app_limiter=shared(box.credentials.client_id),
                **options,
            )
            try:
                yield live
            finally:
                live.close()
        return
    credentials = load_credentials(config, os.environ if env is None else env)
    live = SpApiBackend(
        Connection(credentials, endpoint=backend.endpoint),
        config.project.seller_id,
        state_dir=state_dir,
        now=now or (lambda: datetime.now(UTC)),
        app_limiter=shared(credentials["lwa_app_id"]),
        **options,
    )
    try:
        yield live
    finally:
        live.close()
