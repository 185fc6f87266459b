"""Parsed config files, cached by content, in the state directory.

A 100k-SKU catalog in ten languages is 157 MB of YAML: parsing and schema-checking it keeps
two cores busy for about ten seconds, yet between two plans nearly every file is unchanged.
So each file that parses and validates cleanly is kept as its parsed data, under a key made
of the SHA-256 of its bytes, its kind and the code and schemas that read it
(`PARSER_DIGEST`): an edited file, or a sellersync that parses or validates differently, is
a miss and is parsed again. Nothing else is trusted from an entry: a missing, unreadable or
corrupt one is a miss too.

Entries are pickles (the fastest way back to dicts, lists and Decimals), read with an
unpickler that builds nothing but plain data and Decimals: a state directory restored from a
shared CI cache must not be a way to run code. Entries the last successful load did not use
are pruned, so the directory holds about one catalog's worth.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import pickle
import secrets
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from engine.config.discovery import DEFAULT_STATE_DIR, state_folder
from engine.config.yamlsafe import YamlProblem, parse_source

log = logging.getLogger(__name__)

CACHE_FORMAT = 1
_SUFFIX = ".pickle"


@cache
def parser_digest() -> str:
    """What decides how a file's bytes become validated data: the YAML reader, the schema
    checks, the worker that runs both (parsepool.read_and_validate) and the schemas."""
    hasher = hashlib.sha256(f"format {CACHE_FORMAT}".encode())
    package = resources.files("engine.config")
    for name in ("yamlsafe.py", "schema.py", "parsepool.py"):
        hasher.update((package / name).read_bytes())
    schemas = resources.files("engine.schemas")
    for entry in sorted(schemas.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            hasher.update(entry.name.encode() + b"\0" + entry.read_bytes())
    return hasher.hexdigest()


class _DataUnpickler(pickle.Unpickler):
    """Builds dicts, lists, strings, numbers and Decimals; refuses every other class."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("decimal", "Decimal"):
            return Decimal
        raise pickle.UnpicklingError(f"{module}.{name} is not config data")


def cache_for_config(root: Path) -> ParseCache | None:
    """The parse cache in the state directory `root/project.yaml` names; None when that file
    cannot be read (the load then reports it, and nothing is cached)."""
    path = root / "project.yaml"
    try:
        data = parse_source(path.read_bytes(), str(path)).data
    except (OSError, YamlProblem):
        return None
    state_dir = data.get("state_dir", DEFAULT_STATE_DIR) if isinstance(data, dict) else None
    if not isinstance(state_dir, str):
        return None
    return ParseCache(state_folder(root, state_dir))


class ParseCache:
    """`<state_dir>/cache/config/<key>.pickle`, one entry per parsed file."""

    def __init__(self, state_dir: Path) -> None:
        self.directory = state_dir / "cache" / "config"
        self._used: set[str] = set()
        self._staged: list[str] = []
        # Names this load's staged files (parse workers stage too, with a copy of this cache).
        self._load_id = secrets.token_hex(6)

    def key(self, sha256: bytes, kind: str) -> str:
        return hashlib.sha256(sha256 + kind.encode() + parser_digest().encode()).hexdigest()

    def has(self, key: str) -> bool:
        """Whether there is an entry for `key` (`get` may still find it unreadable)."""
        return (self.directory / f"{key}{_SUFFIX}").is_file()

    def get(self, key: str) -> Any | None:
        """The data cached under `key`, or None."""
        self._used.add(key)
        return self._read(self.directory / f"{key}{_SUFFIX}", key)

    def take_staged(self, key: str) -> Any | None:
        """The data a parse worker staged for `key` (its copy of this cache cannot tell this
        one), now staged here too; None if it cannot be read back."""
        self._used.add(key)
        data = self._read(self._staged_path(key), key)
        if data is None:
            self._staged_path(key).unlink(missing_ok=True)
        else:
            self._staged.append(key)
        return data

    def _read(self, path: Path, key: str) -> Any | None:
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        try:
            return _DataUnpickler(io.BytesIO(raw)).load()
        except Exception as err:  # any corrupt entry is a miss, whatever it raises
            log.warning("config parse cache: ignoring unreadable entry %s (%s)", key, err)
            return None

    def stage(self, key: str, data: Any) -> bool:
        """Write `data` for `key`, to take effect at `commit`: a load that fails later (a
        cross-file error) must leave nothing behind. False if it could not be written."""
        self._used.add(key)
        path = self._staged_path(key)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            path.write_bytes(pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError as err:  # the cache only saves time: say so, and go on without it
            log.warning("config parse cache: could not write %s (%s)", path, err)
            path.unlink(missing_ok=True)
            return False
        self._staged.append(key)
        return True

    def commit(self) -> None:
        """Make the staged entries current and remove the ones no load here used."""
        for key in self._staged:
            try:
                os.replace(self._staged_path(key), self.directory / f"{key}{_SUFFIX}")
            except OSError as err:
                log.warning("config parse cache: could not keep entry %s (%s)", key, err)
        self._staged.clear()
        self._prune()

    def discard(self) -> None:
        """Drop the staged entries (the load failed)."""
        for key in self._staged:
            self._staged_path(key).unlink(missing_ok=True)
        self._staged.clear()

    def _staged_path(self, key: str) -> Path:
        return self.directory / f"{key}{_SUFFIX}.{self._load_id}.staged"

    def _prune(self) -> None:
        """Remove the entries this load did not use (and anything a killed load staged)."""
        try:
            entries = list(self.directory.iterdir())
        except OSError:
            return
        for entry in entries:
            if not entry.name.endswith(_SUFFIX) or entry.name[: -len(_SUFFIX)] not in self._used:
                entry.unlink(missing_ok=True)
