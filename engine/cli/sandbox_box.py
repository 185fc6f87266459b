"""What every `sync sandbox ...` command opens: the embedded sandbox in the state directory
the group's options (or the config) name, seeded from the config's rendered desired state when
it is not seeded yet, on the timing profile the group chose."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from engine.core.errors import UserError
from engine.core.resource import Resource

DEFAULT_TIMING = "amazon"
TIMINGS = ("amazon", "fast")


def seed_config_dir(ctx: click.Context, from_config: Path | None = None) -> Path:
    """The config directory a seed is rendered from: `from_config` if given, else the
    command's --config directory."""
    return Path(
        context_obj(ctx).get("config_dir", Path("config")) if from_config is None else from_config
    )


def load_seed_resources(
    ctx: click.Context, from_config: Path | None = None
) -> tuple[str, list[Resource]]:
    """The seller id and the rendered desired state the sandbox is seeded from: the config in
    `seed_config_dir`.

    Rendering happens at the current time (the CLI is the edge that reads the clock)."""
    try:
        from engine.config import load_config
        from engine.flows.connect import sandbox_seed
    except ImportError as err:
        raise UserError(
            f"cannot seed the sandbox: config rendering is not available ({err})"
        ) from None
    config = load_config(seed_config_dir(ctx, from_config))
    return sandbox_seed(config, datetime.now(UTC))


def sandbox_state_dir(ctx: click.Context) -> Path:
    """--state-dir if given, else the config's state_dir (project.yaml)."""
    obj = context_obj(ctx)
    if obj.get("sandbox_state_dir") is not None:
        return Path(obj["sandbox_state_dir"])
    try:
        from engine.config import load_config
    except ImportError as err:
        raise UserError(f"give --state-dir: the config loader is not available ({err})") from None
    return load_config(obj.get("config_dir", Path("config"))).state_dir


def context_obj(ctx: click.Context) -> dict[str, Any]:
    """The root context's object, where the group options are kept."""
    root = ctx.find_root()
    if root.obj is None:
        root.obj = {}
    return root.obj


def open_box(
    ctx: click.Context,
    *,
    reseed: bool = False,
    from_config: Path | None = None,
    exact: bool = False,
    **options: Any,
) -> Any:
    """The sandbox the command works on (engine.sandbox.runtime.Sandbox). Seeded (when
    `reseed`, or when it has no account yet) from the config `seed_config_dir` names; `exact`
    leaves out the demo's deliberate differences (engine.sandbox.seed)."""
    from engine.sandbox.runtime import Sandbox
    from engine.sandbox.store import Store
    from engine.sandbox.timing import profile_named

    state_dir = sandbox_state_dir(ctx)
    seed = None
    if reseed or not Store(state_dir).is_seeded():
        seed = load_seed_resources(ctx, from_config)
    obj = context_obj(ctx)
    options.setdefault("timing", profile_named(obj.get("timing", DEFAULT_TIMING)))
    options.setdefault("timing_seed", obj.get("timing_seed", 0))
    source = seed_config_dir(ctx, from_config).resolve()
    return Sandbox.open(state_dir, seed=seed, reseed=reseed, exact=exact, source=source, **options)
