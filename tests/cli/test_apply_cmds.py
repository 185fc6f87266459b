"""`sync apply FILE` against a sandbox served from the test (the config's backend is `spapi`
with its endpoint, the sandbox's demo credentials in the environment), including a real kill
of `python -m engine apply` in a subprocess and the resume after it.

The sandbox's clock is frozen and processes writes at once (no processing delay), so the
CLI's real-time verification never has to wait. Writes are counted on the server side, by a
WSGI layer in front of the sandbox app: what reached Amazon, not what the client thinks."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.apply.abandon import AbandonReport, Settled
from engine.apply.executor import ApplyReport, LostAnswers
from engine.apply.recheck import Recheck, RecheckReport
from engine.cli import apply_cmds
from engine.cli.main import main
from engine.config import load_config
from engine.desired.render import render
from engine.flows.connect import ENV_KEYS, open_backend, sandbox_seed
from engine.plan.diff import diff
from engine.plan.model import Plan
from engine.plan.validate import MAX_PLAN_BYTES
from engine.sandbox.clock import VirtualClock
from engine.sandbox.runtime import Sandbox
from engine.state import journal
from engine.state.breakers import Breaker
from engine.state.db import open_postgresql, open_state
from engine.state.journal import Entry
from engine.state.lock import LockInfo
from engine.state.tables import metadata, state_meta
from engine.watch import breaker
from tests.apply.killed_apply import KILLED_EXIT
from tests.cli.test_plan_apply_demo import apply_runs
from tests.conftest import NOW
from tests.minimal_config import edited, write_config
from tests.sandbox.conftest import _clean_spapi_env  # noqa: F401  (fixture)
from tests.state.conftest import pg_dsn  # noqa: F401  (fixture)

WRITE_METHODS = ("PUT", "PATCH", "DELETE")
REPORT_SPEED = 600.0  # virtual seconds per real second
# The minimal config's sandbox seeds DE HP-100 at 5799.00 (a typo); putting it back is a -99 %
# change the price_change_size guardrail holds. Approved here: these tests are about applying.
SEEDED_TYPO_APPROVED = """\
    approvals:
      - rule: price_change_size
        scope:
          marketplaces: [DE]
          skus: [HP-100]
        approves: {value: "57.99"}
        reason: the seeded 5799.00 typo goes back to 57.99
        approver: test
        expires: "2027-06-30T00:00:00Z"
    """


class WriteCounter:
    """WSGI layer counting listing writes per SKU as they reach the sandbox."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.writes: Counter[str] = Counter()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ["REQUEST_METHOD"] in WRITE_METHODS:
            self.writes[environ["PATH_INFO"].rsplit("/", 1)[-1]] += 1
        return self.app(environ, start_response)


@dataclass
class Served:
    config_dir: Path
    plan_file: Path
    counter: WriteCounter
    env: dict[str, str]
    skus: list[str]  # the SKUs the plan changes, in plan order

    def apply(self, *args: str) -> int:
        return main(["--config", str(self.config_dir), "apply", str(self.plan_file), *args])

    def replan(self) -> Plan:
        return make_plan(load_config(self.config_dir))


def make_plan(config) -> Plan:
    """A plan from the pure pieces: the rendered config against live, read per listing."""
    desired = render(config, NOW).resources
    with open_backend(config) as backend:
        live = {}
        for resource in desired.values():
            listing = backend.read_listing(resource.marketplace, resource.sku)
            if listing is not None:
                live[resource.address] = listing.resource
        changeset = diff(desired, live)
        return Plan.build(
            changeset, created_at=NOW, config_digest=config.digest, backend=backend.identity
        )


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    config_dir = write_config(tmp_path / "config")
    config = load_config(config_dir)
    box = Sandbox.open(
        tmp_path / "sandbox",
        seed=sandbox_seed(config, NOW),
        # Running fast, so that the listings reports `sync plan` and `sync apply FILE` read
        # (queued and processed on this clock) finish in a fraction of a real second.
        clock=VirtualClock(NOW, speed=REPORT_SPEED),
        rate_limits=False,
        processing_delay=timedelta(0),
    )
    counter = WriteCounter(box.app)
    box.app = counter  # type: ignore[assignment]
    url = box.start()
    try:
        write_config(
            config_dir,
            edited(
                "project.yaml",
                "marketplaces: [US, DE, JP]\n",
                (f"marketplaces: [US, DE, JP]\nbackend:\n  kind: spapi\n  endpoint: {url}\n"),
            )
            | {"approvals.yaml": SEEDED_TYPO_APPROVED},
        )
        env = {ENV_KEYS[k]: v for k, v in box.credentials.as_spapi_credentials().items()}
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        plan_file = tmp_path / "plan.json"
        assert main(["--config", str(config_dir), "plan", "--out", str(plan_file)]) == 0
        plan = Plan.loads(plan_file.read_text(encoding="utf-8"))
        yield Served(config_dir, plan_file, counter, env, [c.sku for c in plan.changes])
    finally:
        box.stop()
        box.store.close()


def test_apply_auto_approve_makes_the_plan_live(served, capsys):
    assert len(served.skus) >= 3
    assert served.apply("--auto-approve") == 0
    out = capsys.readouterr().out
    finished = f"Apply finished: {len(served.skus)} applied, 0 failed, 0 not yet visible"
    assert out.index("Plan: ") < out.index(finished)  # the plan is shown first
    assert sum(served.counter.writes.values()) == len(served.skus)
    assert served.replan().changes == ()


def run_killed_apply(served: Served, writes: int) -> subprocess.CompletedProcess[str]:
    """`python -m engine apply FILE --auto-approve` in its own process, killed for real
    (os._exit) after `writes` writes were answered (tests/apply/killed_apply.py)."""
    env = {k: v for k, v in os.environ.items() if k != "SP_API_DEFAULT_MARKETPLACE"}
    env |= served.env | {"PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    command = [sys.executable, "-m", "tests.apply.killed_apply", str(writes)]
    command += ["--config", str(served.config_dir), "apply"]
    return subprocess.run(
        [*command, str(served.plan_file), "--auto-approve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, served: Served, monkeypatch: pytest.MonkeyPatch):
    """The served config's state store: SQLite in its state directory, or the PostgreSQL
    server on 127.0.0.1:5432 (a schema of this test session; emptied after the test). The
    plan file is made again for it: the store is part of the config its digest covers."""
    if request.param == "sqlite":
        yield request.param
        return
    dsn = request.getfixturevalue("pg_dsn")
    monkeypatch.setenv("SELLERSYNC_STATE_DSN", dsn)
    project = served.config_dir / "project.yaml"
    project.write_text(project.read_text() + "state:\n  backend: postgresql\n", "utf-8")
    assert main(["--config", str(served.config_dir), "plan", "--out", str(served.plan_file)]) == 0
    try:
        yield request.param
    finally:
        db = open_postgresql(dsn, "SELLERSYNC_STATE_DSN")
        with db.write() as conn:
            for table in reversed(metadata.sorted_tables):
                if table is not state_meta:
                    conn.execute(table.delete())
        db.close()


def test_a_killed_apply_resumes_and_writes_every_change_exactly_once(served, store, capsys):
    """Issue 19, item 5: the killed apply's lock is taken over by the next apply, on SQLite
    (its pid no longer runs on this host) and PostgreSQL (its session ended), which says so
    and resumes; no force-unlock."""
    capsys.readouterr()
    killed = run_killed_apply(served, writes=2)
    assert killed.returncode == KILLED_EXIT, killed.stderr
    assert sum(served.counter.writes.values()) == 2
    (dead_run,) = apply_runs(served.config_dir)

    assert served.apply("--auto-approve") == 0
    out = capsys.readouterr().out
    took_over = next(line for line in out.splitlines() if line.startswith("Took over"))
    assert re.fullmatch(
        r"Took over the apply lock of seller \S+, held by \S+ pid \d+ \(apply\) since "
        r"[-0-9: ]+ UTC, lock id \S+: (that process is gone \(its database session ended\)|"
        r"process \d+ no longer runs on \S+)\. Its unfinished run, if any, resumes from the "
        r"journal\.",
        took_over,
    ), took_over
    assert ("database session ended" in took_over) == (store == "postgresql")
    assert f"Resumed apply run {dead_run.id}." in out
    assert f"Apply finished: {len(served.skus)} applied, 0 failed" in out
    assert served.counter.writes == Counter({sku: served.skus.count(sku) for sku in served.skus})
    assert served.replan().changes == ()
    assert [r.status for r in apply_runs(served.config_dir)] == ["succeeded"]


def test_a_plan_from_an_older_config_exits_4_without_writing(served, capsys):
    products = served.config_dir / "products" / "audio.yaml"
    text = products.read_text(encoding="utf-8")
    products.write_text(text.replace('base_price: "59.99"', 'base_price: "61.99"'), "utf-8")
    assert served.apply("--auto-approve") == 4
    err = capsys.readouterr().err
    assert err.startswith("Error: the plan is stale, nothing was written: the config changed")
    assert err.endswith("Run `sync plan` again, review the new plan and apply that one\n")
    assert served.counter.writes == Counter()


def test_without_a_terminal_apply_needs_auto_approve(served, capsys, monkeypatch):
    monkeypatch.setattr(apply_cmds, "stdin_is_interactive", lambda: False)
    assert served.apply() == 1
    assert "pass --auto-approve" in capsys.readouterr().err
    assert served.counter.writes == Counter()


@pytest.mark.parametrize(("answer", "code", "writes"), [("n\n", 1, 0), ("y\n", 0, None)])
def test_apply_asks_before_writing(served, capsys, monkeypatch, answer, code, writes):
    monkeypatch.setattr(apply_cmds, "stdin_is_interactive", lambda: True)
    monkeypatch.setattr(sys, "stdin", io.StringIO(answer))
    assert served.apply() == code
    captured = capsys.readouterr()
    assert "Apply these changes? [y/N]" in captured.out
    expected = len(served.skus) if writes is None else writes
    assert sum(served.counter.writes.values()) == expected
    if writes == 0:
        assert "Apply cancelled; nothing was written." in captured.err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read the plan file"),
        ("not json", "not a JSON plan file"),
        ('{"format_version": "9.9"}', "unsupported plan format_version '9.9'"),
        ('{"format_version": "2.0"}', "plan.json: $: missing required field 'sellersync_version'"),
    ],
)
def test_a_bad_plan_file_is_one_line_exit_1(config_dir, tmp_path, capsys, content, message):
    plan_file = tmp_path / "plan.json"
    if content is not None:
        plan_file.write_text(content, encoding="utf-8")
    code = main(["--config", str(config_dir), "apply", str(plan_file), "--auto-approve"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("Error: ") and message in err and err.count("\n") == 1


def test_the_summary_names_every_outcome():
    report = ApplyReport(
        run_id="r1",
        resumed=False,
        applied=('listing.DE["A"]',),
        not_visible=('listing.DE["B"]',),
        failed=(('listing.DE["C"]', "INVALID: 8541: price too low"),),
        skipped=(('listing.DE["D"]', 'listing.DE["D"] changed live since the plan was made'),),
        stopped='listing.DE["D"] changed live since the plan was made',
    )
    assert apply_cmds.summary_lines(report) == [
        "Apply finished: 1 applied, 1 failed, 1 not yet visible, 1 not sent.",
        '  failed    listing.DE["C"]: INVALID: 8541: price too low',
        '  not yet visible  listing.DE["B"]: accepted by Amazon, not visible live yet; the '
        "next apply (or `sync apply --recheck`) looks again",
        '  not sent  listing.DE["D"]: listing.DE["D"] changed live since the plan was made',
        'Stopped early: listing.DE["D"] changed live since the plan was made. Run `sync plan` '
        "again and apply the new plan.",
    ]
    assert report.exit_code == 4


def test_a_plan_with_an_unapproved_guardrail_block_exits_3_without_writing(served, capsys):
    (served.config_dir / "approvals.yaml").write_text("approvals: []\n", encoding="utf-8")
    assert main(["--config", str(served.config_dir), "plan", "--out", str(served.plan_file)]) == 0
    capsys.readouterr()
    assert served.apply("--auto-approve") == 3
    err = capsys.readouterr().err
    assert "plan blocked by 1 guardrail finding(s); nothing was applied" in err
    assert 'price_change_size (soft-mandatory) listing.DE["HP-100"]' in err
    assert served.counter.writes == Counter()


def _forged(served: Served, edit: Callable[[dict[str, Any]], None]) -> None:
    document = json.loads(served.plan_file.read_text(encoding="utf-8"))
    edit(document)
    served.plan_file.write_text(json.dumps(document, indent=2), encoding="utf-8")


def _price_of_the_first_update(document: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in document["resource_changes"] if c["change"]["actions"] == ["update"])


def test_a_plan_file_with_prices_edited_by_hand_is_refused_naming_listing_and_field(served, capsys):
    """Issue 13, item 2: `after` prices edited to 1.00 used to go live as they stood."""
    edited = {}

    def to_one(document: dict[str, Any]) -> None:
        change = _price_of_the_first_update(document)
        change["change"]["after"]["our_price"] = "1.00"
        edited["address"] = change["address"]
        edited["was"] = _price_of_the_first_update(
            json.loads(served.plan_file.read_text(encoding="utf-8"))
        )["change"]["after"]["our_price"]

    _forged(served, to_one)
    assert served.apply("--auto-approve") == 4
    err = capsys.readouterr().err
    currency = "EUR" if ".DE[" in edited["address"] else "USD"
    assert (
        f"{edited['address']} our_price: 1.00 {currency} in the file, {edited['was']} "
        f"{currency} planned now"
    ) in err
    assert err.count("\n") == 1 and served.counter.writes == Counter()


def test_emptied_guardrail_verdicts_are_refused(served, capsys):
    _forged(served, lambda document: document.update(guardrails=[]))
    assert served.apply("--auto-approve") == 4
    err = capsys.readouterr().err
    assert 'price_change_size (soft-mandatory) approved at listing.DE["HP-100"] is missing' in err
    assert served.counter.writes == Counter()


def test_a_yen_price_with_decimals_is_not_a_plan_sellersync_wrote(served, capsys):
    def yen_with_cents(document: dict[str, Any]) -> None:
        for change in document["resource_changes"]:
            after = change["change"]["after"]
            if after and after["currency"] == "JPY":
                after["our_price"] = "1.00"
                return
        raise AssertionError("the plan has no JPY listing")

    _forged(served, yen_with_cents)
    assert served.apply("--auto-approve") == 1
    err = capsys.readouterr().err
    assert "after.our_price is 1.00 JPY, but JPY amounts have no decimals" in err
    assert served.counter.writes == Counter()


def _with_price(value: str) -> Callable[[str], str]:
    """The plan file's text with the first `after` price of an update replaced by `value`,
    written as is (a JSON number stays a number)."""

    def edit(text: str) -> str:
        document = json.loads(text)
        price = _price_of_the_first_update(document)["change"]["after"]["our_price"]
        assert text.count(f'"our_price": "{price}"') >= 1
        return text.replace(f'"our_price": "{price}"', f'"our_price": {value}', 1)

    return edit


def _json_edit(edit: Callable[[dict[str, Any]], None]) -> Callable[[str], str]:
    def apply_edit(text: str) -> str:
        document = json.loads(text)
        edit(document)
        return json.dumps(document, indent=2)

    return apply_edit


def _unknown_action(document: dict[str, Any]) -> None:
    _price_of_the_first_update(document)["change"]["actions"] = ["explode"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            _json_edit(lambda document: document.update(created_at=5)),
            "$.created_at: expected string (got 5)",
        ),
        (lambda text: "[" * 200_000 + "]" * 200_000, "nested more than 32 levels deep"),
        (_json_edit(_unknown_action), "expected one of: create, update, delete (got 'explode')"),
        (_with_price('"NaN"'), ".change.after.our_price: does not match the expected format"),
        (_with_price("1e999999"), ".change.after.our_price: expected string (got 1E+999999)"),
    ],
    ids=["created_at-5", "nested-brackets", "unknown-action", "nan-price", "1e999999-price"],
)
def test_a_broken_plan_file_is_refused_before_anything_is_journaled(served, capsys, edit, message):
    """Issue 19, item 4: each of these was an internal error (exit 3), the NaN price after
    its change was journaled `sent`, which left the run stuck."""
    served.plan_file.write_text(edit(served.plan_file.read_text(encoding="utf-8")), "utf-8")
    assert served.apply("--auto-approve") == 1
    err = capsys.readouterr().err
    assert err.startswith(f"Error: {served.plan_file}: ") and err.count("\n") == 1
    assert message in err
    assert served.counter.writes == Counter()
    assert apply_runs(served.config_dir) == []
    # Nothing is left behind: the reviewed plan, saved again, applies.
    assert main(["--config", str(served.config_dir), "plan", "--out", str(served.plan_file)]) == 0
    assert served.apply("--auto-approve") == 0


def test_a_file_bigger_than_any_plan_is_refused_unread(config_dir, tmp_path, capsys):
    huge = tmp_path / "plan.json"
    with huge.open("wb") as handle:  # sparse: no disk is spent on it
        handle.truncate(MAX_PLAN_BYTES + 1)
    code = main(["--config", str(config_dir), "apply", str(huge), "--auto-approve"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert f"is not a plan file: it has {MAX_PLAN_BYTES + 1:,} bytes, more than the" in err


def test_a_plan_for_another_seller_is_refused_by_name(served, capsys):
    def other_seller(document: dict[str, Any]) -> None:
        document["backend"]["seller_id"] = "A0THERSELLER"

    _forged(served, other_seller)
    assert served.apply("--auto-approve") == 4
    err = capsys.readouterr().err
    assert "the plan was made for spapi seller A0THERSELLER" in err
    assert served.counter.writes == Counter()


def _entry(address: str, run_id: str) -> Entry:
    return Entry(run_id, 0, address, "update", {}, "not_visible", None, None, None, NOW, NOW)


def test_the_recheck_lines_name_every_outcome_and_the_deadline():
    report = RecheckReport(
        (
            Recheck(_entry('listing.DE["A"]', "r1"), "verified"),
            Recheck(_entry('listing.DE["B"]', "r1"), "failed", "not live 24 h after ..."),
            Recheck(_entry('listing.DE["C"]', "r2"), "not_visible"),
        )
    )
    assert apply_cmds.recheck_lines(report) == [
        "Re-checked 3 change(s) earlier applies left not yet visible: 1 now live, 1 failed, "
        "1 still not visible.",
        '  now live  listing.DE["A"]: verified (run r1)',
        '  failed    listing.DE["B"]: not live 24 h after ... (run r1)',
        '  still not visible  listing.DE["C"]: looked at again until 2026-11-23 12:00 UTC (run r2)',
    ]
    applied = ApplyReport(None, False, (), (), (), (), rechecked=report)
    assert apply_cmds.summary_lines(applied)[0].startswith("Re-checked 3 change(s)")


def test_abandon_after_a_real_kill_then_a_new_plan_applies(served, capsys):
    killed = run_killed_apply(served, writes=2)
    assert killed.returncode == KILLED_EXIT, killed.stderr
    (run,) = apply_runs(served.config_dir)
    lost = Plan.loads(served.plan_file.read_text(encoding="utf-8"))
    addresses = [c.address for c in lost.changes]
    served.plan_file.unlink()  # the plan file is lost

    code = main(["--config", str(served.config_dir), "apply", "--abandon", run.id])

    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0] == (
        f"Abandoned apply run {run.id} (plan sha256 {run.plan_digest}, started "
        f"{run.started_at:%Y-%m-%d %H:%M:%S} UTC); nothing was written to Amazon."
    )
    assert out[1].startswith("Released the lock it left behind: held by ")
    assert "(apply) since" in out[1]
    first, second, *rest = addresses
    assert out[2:-1] == [
        f"  verified  {first}: accepted by Amazon, and live shows it",
        f"  verified  {second}: sent before the run stopped, and live shows it",
        *[f"  not sent  {address}: never sent" for address in rest],
    ]
    assert sum(served.counter.writes.values()) == 2  # abandoning wrote nothing
    assert [r.status for r in apply_runs(served.config_dir)] == ["abandoned"]

    assert main(["--config", str(served.config_dir), "plan", "--out", str(served.plan_file)]) == 0
    assert served.apply("--auto-approve") == 0
    assert "Resumed" not in capsys.readouterr().out
    assert sum(served.counter.writes.values()) == len(addresses)
    assert served.replan().changes == ()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--abandon", "0000-no-such-run"], "has no apply run 0000-no-such-run in its journal"),
        (["--recheck", "--abandon", "x"], "--recheck and --abandon are separate jobs"),
        (["plan.json", "--recheck"], "--recheck takes no plan file; drop plan.json"),
    ],
)
def test_journal_chores_refuse_bad_input_with_one_line(served, capsys, args, message):
    assert main(["--config", str(served.config_dir), "apply", *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and message in err and err.count("\n") == 1
    assert served.counter.writes == Counter()


def test_recheck_with_nothing_waiting_says_so(served, capsys):
    assert main(["--config", str(served.config_dir), "apply", "--recheck"]) == 0
    assert capsys.readouterr().out == (
        "Nothing to re-check: no change of an earlier apply is waiting to show live.\n"
    )


def test_a_breaker_trip_while_a_killed_apply_is_unfinished_is_written_and_it_resumes(
    served, capsys
):
    """The watchdog trips JP HP-100 (not in the plan) right after `sync apply` was killed
    for real: its lock is held and its run unfinished. The breaker write is made anyway, and
    the apply then resumes and writes each of its changes exactly once."""
    killed = run_killed_apply(served, writes=2)
    assert killed.returncode == KILLED_EXIT, killed.stderr
    config = load_config(served.config_dir)
    seller = config.project.seller_id
    trip = Breaker("JP", "HP-100", NOW, "below_floor: 3 units at 100", "INC-202611221200-JP-HP-100")
    db = open_state(config.project.state, config.state_dir)
    try:
        with db.read() as conn:
            killed_run = journal.resume_point(conn, seller).run
        with open_backend(config) as backend:
            [done] = breaker.enforce(backend, db, seller, breaker.trip(db, seller, [trip]), NOW)
            assert backend.read_listing("JP", "HP-100").resource.quantity == 0
        with db.read() as conn:
            kinds = {(r.id, r.kind, r.status) for r in journal.runs(conn, seller)}
    finally:
        db.close()
    assert (done.outcome, done.detail) == ("written", "quantity 9 -> 0")
    assert kinds == {
        (killed_run.id, "apply", "running"),
        (done.run_id, "emergency", "succeeded"),
    }

    assert served.apply("--auto-approve") == 0  # the dead apply's lock is taken over
    out = capsys.readouterr().out
    assert "Took over the apply lock of seller" in out
    assert f"Resumed apply run {killed_run.id}." in out
    assert f"Apply finished: {len(served.skus)} applied, 0 failed" in out
    plan_writes = Counter({sku: served.skus.count(sku) for sku in served.skus})
    assert served.counter.writes == plan_writes + Counter({"HP-100": 1})  # + the breaker's
    with open_backend(config) as backend:
        assert backend.read_listing("JP", "HP-100").resource.quantity == 0


def test_apply_json_keeps_standard_output_for_the_json(served, capsys):
    assert served.apply("--auto-approve", "--json") == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert "Plan: " in captured.err and "Apply finished" not in captured.out
    assert data["format_version"] == 1 and data["exit_code"] == 0 and data["run_id"]
    assert sorted(a.split('"')[1] for a in data["applied"]) == sorted(served.skus)
    assert data["failed"] == data["not_visible"] == data["not_sent"] == []
    assert data["lost_answers"] is None and data["rechecked"] == []
    assert main(["--config", str(served.config_dir), "apply", "--recheck", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"format_version": 1, "rechecked": []}


def test_the_apply_json_names_every_outcome():
    report = ApplyReport(
        run_id="r1",
        resumed=True,
        applied=('listing.DE["A"]',),
        not_visible=('listing.DE["B"]', 'listing.DE["E"]'),
        failed=(('listing.DE["C"]', "INVALID: 8541: price too low"),),
        skipped=(('listing.DE["D"]', "changed live"),),
        stopped="changed live",
        lost=LostAnswers(lost=2, found_live=1, resent=1),
        unconfirmed=('listing.DE["E"]',),
    )
    assert apply_cmds.apply_json(report) == {
        "format_version": 1,
        "run_id": "r1",
        "resumed": True,
        "exit_code": 4,
        "applied": ['listing.DE["A"]'],
        "failed": [{"address": 'listing.DE["C"]', "reason": "INVALID: 8541: price too low"}],
        "not_visible": [
            {"address": 'listing.DE["B"]', "answer_lost": False},
            {"address": 'listing.DE["E"]', "answer_lost": True},
        ],
        "not_sent": [{"address": 'listing.DE["D"]', "reason": "changed live"}],
        "lost_answers": {"lost": 2, "found_live": 1, "resent": 1},
        "stopped": "changed live",
        "gave_up": None,
        "rechecked": [],
    }


def test_the_abandon_json_names_the_run_the_lock_and_every_entry():
    run = journal.Run("run-1", "S1", "abc", NOW, NOW, "abandoned")
    held = LockInfo("lock-1", "S1", "runner pid 7", "apply", NOW)
    report = AbandonReport(
        run,
        (
            Settled('listing.DE["A"]', "pending", "failed", "never sent"),
            Settled('listing.DE["B"]', "accepted", "verified", None),
        ),
        held,
    )
    assert apply_cmds.abandon_json(report) == {
        "format_version": 1,
        "abandoned": {
            "run_id": "run-1",
            "plan_digest": "abc",
            "started_at": "2026-11-22T12:00:00Z",
        },
        "released_lock": {
            "id": "lock-1",
            "seller_id": "S1",
            "holder": "runner pid 7",
            "operation": "apply",
            "acquired_at": "2026-11-22T12:00:00Z",
        },
        "entries": [
            {
                "address": 'listing.DE["A"]',
                "was": "pending",
                "now": "failed",
                "error": "never sent",
            },
            {"address": 'listing.DE["B"]', "was": "accepted", "now": "verified", "error": None},
        ],
    }
