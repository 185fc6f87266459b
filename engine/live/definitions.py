"""Product type definitions as the backend keeps them: fetched once, cached in the state folder.

`<state_dir>/product-types/<MARKETPLACE_ID>/<PRODUCT_TYPE>/<version>.json` holds one schema
(the LISTING requirements set, enforced) with the definition's checksum;
`<PRODUCT_TYPE>/latest.json` says which version was the latest when it was last asked and
until when that answer is trusted (`MAX_AGE`). Within that time no call is made; after it,
getDefinitionsProductType is asked again, and the schema is downloaded only when the version
or checksum changed. Amazon versions its product types and says a definition's checksum
identifies changes for caching (the `SchemaLink.checksum` field of the Product Type
Definitions API 2020-09-01 model); how long to trust "latest" is sellersync's choice.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from engine.core import jsonio
from engine.core.fileio import write_atomic

MAX_AGE = timedelta(hours=24)
REQUIREMENTS = "LISTING"
_SAFE = re.compile(r"^[A-Za-z0-9_.-]+$")


class DefinitionError(ValueError):
    """A definition whose schema could not be read (bad checksum, not a JSON object)."""


@dataclass(frozen=True, slots=True)
class CachedDefinition:
    product_type: str
    marketplace_id: str
    version: str
    checksum: str
    schema: Mapping[str, Any]
    fetched_at: datetime


def checksum(data: bytes) -> str:
    """The Base64 MD5 Amazon gives as a schema's checksum."""
    return base64.b64encode(hashlib.md5(data).digest()).decode("ascii")


def parse_schema(data: bytes, expected: str | None) -> dict[str, Any]:
    if expected is not None and checksum(data) != expected:
        raise DefinitionError("the schema does not match its checksum")
    try:
        schema = jsonio.loads(data)
    except jsonio.JSONError as err:
        raise DefinitionError(f"the schema is not JSON: {err}") from None
    if not isinstance(schema, dict):
        raise DefinitionError("the schema is not a JSON object")
    return schema


def _when(value: object) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _part(value: str) -> str:
    if not _SAFE.match(value):
        raise ValueError(f"{value!r} cannot name a cache file")
    return value


class DefinitionCache:
    def __init__(self, state_dir: Path, *, max_age: timedelta = MAX_AGE) -> None:
        self.directory = state_dir / "product-types"
        self.max_age = max_age

    def _folder(self, marketplace_id: str, product_type: str) -> Path:
        return self.directory / _part(marketplace_id) / _part(product_type)

    def path(self, marketplace_id: str, product_type: str, version: str) -> Path:
        return self._folder(marketplace_id, product_type) / f"{_part(version)}.json"

    def fresh(
        self, marketplace_id: str, product_type: str, now: datetime
    ) -> CachedDefinition | None:
        """The cached latest definition while it is trusted (`max_age`), else None."""
        pointer = self._read(self._folder(marketplace_id, product_type) / "latest.json")
        if pointer is None:
            return None
        checked = _when(pointer.get("checked_at"))
        if checked is None or now - checked >= self.max_age:
            return None
        return self.version(marketplace_id, product_type, str(pointer.get("version")))

    def version(
        self, marketplace_id: str, product_type: str, version: str
    ) -> CachedDefinition | None:
        """One cached version, whatever its age (versions do not change)."""
        entry = self._read(self.path(marketplace_id, product_type, version))
        fetched = _when(entry.get("fetched_at")) if entry is not None else None
        if entry is None or fetched is None or not isinstance(entry.get("schema"), dict):
            return None
        return CachedDefinition(
            product_type,
            marketplace_id,
            version,
            str(entry.get("checksum")),
            entry["schema"],
            fetched,
        )

    def save(self, definition: CachedDefinition) -> None:
        entry = {
            "product_type": definition.product_type,
            "marketplace_id": definition.marketplace_id,
            "version": definition.version,
            "requirements": REQUIREMENTS,
            "checksum": definition.checksum,
            "fetched_at": definition.fetched_at.isoformat(),
            "schema": definition.schema,
        }
        path = self.path(definition.marketplace_id, definition.product_type, definition.version)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, jsonio.dumps(entry))

    def mark_latest(
        self, marketplace_id: str, product_type: str, version: str, now: datetime
    ) -> None:
        folder = self._folder(marketplace_id, product_type)
        folder.mkdir(parents=True, exist_ok=True)
        pointer = {"version": version, "checked_at": now.isoformat()}
        write_atomic(folder / "latest.json", jsonio.dumps(pointer))

    @staticmethod
    def _read(path: Path) -> dict[str, Any] | None:
        """A cache file, or None when it is missing or unreadable (it is fetched again)."""
        try:
            value = jsonio.loads(path.read_bytes())
        except (OSError, jsonio.JSONError):
            return None
        return value if isinstance(value, dict) else None
