"""Apply fixtures: the sandbox and backend of tests/live (frozen virtual clock, a fake timer
whose sleep moves it), a SQLite state store, plans built from the pure pieces (desired
Resources, live read through the backend, `diff`, `Plan.build`) and saved as apply reads
them, and an executor wired to all of it."""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.apply.executor import Executor
from engine.core.resource import Resource
from engine.live.backend import WriteResult
from engine.live.documents import Polling
from engine.live.spapi import SpApiBackend
from engine.plan.diff import diff
from engine.plan.model import Plan
from engine.sandbox.runtime import Sandbox
from engine.sandbox.store import Listing
from engine.state.db import StateDB, open_sqlite
from tests.live.conftest import (  # noqa: F401  (fixtures)
    FakeTimer,
    _clean_spapi_env,
    backend,
    calls_of,
    clock,
    make_backend,
    open_sandbox,
    resources,
    sandbox,
    timer,
)
from tests.sandbox.conftest import NOW, make_resource

CONFIG_DIGEST = "c0ffee" * 10 + "abcd"
POLLING = Polling(first=10.0, factor=2.0, longest=40.0, give_up=120.0)
WRITES = ("putListingsItem", "patchListingsItem", "deleteListingsItem", "createFeed")


def saved(plan: Plan) -> tuple[Plan, str]:
    """The plan as `sync apply` gets it: read back from its file text, with its digest."""
    text = plan.dumps()
    return Plan.loads(text), hashlib.sha256(text.encode("utf-8")).hexdigest()


def writes_of(backend: SpApiBackend) -> list[str]:  # noqa: F811  (the imported fixture)
    """The write calls the backend made, by operation."""
    return [c.operation for c in calls_of(backend) if c.operation in WRITES]


class Killed(Exception):
    """Stands in for the process dying (the real kill is in tests/cli/test_apply_cmds)."""


def die_after(writes: int) -> Callable[[], None]:
    """An executor `after_write` hook that 'kills' the apply after `writes` answers."""
    count = 0

    def hook() -> None:
        nonlocal count
        count += 1
        if count >= writes:
            raise Killed

    return hook


def apply_dying_before_the_first_request(executor: Executor, plan: Plan, digest: str) -> None:
    """Apply `plan` in a process that dies right after journaling its first write `sent`,
    before the request leaves: that entry's outcome is unknown and nothing reached Amazon."""

    def lost(change: object) -> WriteResult:
        raise Killed

    with pytest.MonkeyPatch.context() as patch, pytest.raises(Killed):
        patch.setattr(executor.backend, "write", lost)
        executor.apply(plan, digest, CONFIG_DIGEST)


def take_offer_down(sandbox: Sandbox, marketplace: str, sku: str) -> None:  # noqa: F811
    """Remove the listing's offer, as a person in Seller Central can: live can no longer
    read it as a listing sellersync manages."""

    def without_offer(listing: Listing) -> Listing:
        attributes = {k: v for k, v in listing.attributes.items() if k != "purchasable_offer"}
        return replace(listing, attributes=attributes)

    sandbox.account.edit_listing(sku, marketplace, without_offer)


def repriced(resource: Resource, price: str) -> Resource:
    return replace(resource, our_price=Decimal(price))


@pytest.fixture
def desired(resources: list[Resource]) -> list[Resource]:  # noqa: F811
    """Three changes: a price, a quantity and a new listing (in plan order)."""
    by_key = {r.key: r for r in resources}
    return [
        repriced(by_key[("DE", "HP-010")], "35.99"),
        replace(by_key[("DE", "HP-011")], quantity=42),
        make_resource("FR", "NEW-1", "33.30", language="fr", quantity=2),
    ]


@pytest.fixture
def make_plan(backend: SpApiBackend) -> Callable[..., tuple[Plan, str]]:  # noqa: F811
    """make_plan(desired Resources) -> the saved plan taking live there, and its digest."""

    def build(
        desired: Iterable[Resource],
        *,
        config_digest: str = CONFIG_DIGEST,
        on: SpApiBackend | None = None,
    ) -> tuple[Plan, str]:
        reader = on or backend
        wanted = {r.address: r for r in desired}
        live = {}
        for resource in wanted.values():
            listing = reader.read_listing(resource.marketplace, resource.sku)
            if listing is not None:
                live[resource.address] = listing.resource
        plan = Plan.build(
            diff(wanted, live),
            created_at=NOW,
            config_digest=config_digest,
            backend=reader.identity,
        )
        return saved(plan)

    return build


@pytest.fixture
def db(tmp_path: Path) -> Iterator[StateDB]:
    store = open_sqlite(tmp_path / "apply-state")
    yield store
    store.close()


@pytest.fixture
def make_executor(
    backend: SpApiBackend,  # noqa: F811
    db: StateDB,
    timer: FakeTimer,  # noqa: F811
    clock,  # noqa: F811
) -> Callable[..., Executor]:
    def build(**options: object) -> Executor:
        options.setdefault("timer", timer)
        on = options.pop("on", backend)
        return Executor(
            on,  # type: ignore[arg-type]
            db,
            now=clock.now,
            holder="test-runner pid 1",
            polling=POLLING,
            **options,  # type: ignore[arg-type]
        )

    return build


class AppliedWrites:
    """Server side: the listing writes the sandbox accepted (and so applies), per SKU, sent
    per item or in a feed alike. A write the client sent twice shows here twice."""

    def __init__(self, account: object) -> None:
        self.by_sku: Counter[str] = Counter()
        self._lock = threading.Lock()
        for name in ("put_item", "patch_item", "delete_item"):
            setattr(account, name, self._counting(getattr(account, name)))

    def _counting(self, write: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        def counted(seller_id: str, sku: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
            answer = write(seller_id, sku, *args, **kwargs)
            if answer.get("status") == "ACCEPTED":
                with self._lock:
                    self.by_sku[sku] += 1
            return answer

        return counted

    def duplicates(self) -> int:
        return sum(n - 1 for n in self.by_sku.values() if n > 1)


@pytest.fixture
def applied_writes(sandbox: Sandbox) -> AppliedWrites:  # noqa: F811
    return AppliedWrites(sandbox.account)
