"""`sync sandbox participation add|remove MARKETPLACE`: the sandbox account joins or leaves a
marketplace; a running sandbox's getMarketplaceParticipations and its marketplace checks
follow at once, and `sync sandbox reset` restores the seeded participations."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli.sandbox_cmds import sandbox as sandbox_cmd
from engine.core.errors import UserError
from engine.core.marketplaces import MARKETPLACES
from tests.sandbox.conftest import MODELS, SELLER

PARTICIPATIONS = "/sellers/v1/marketplaceParticipations"
ES = MARKETPLACES["ES"].marketplace_id
FR = MARKETPLACES["FR"].marketplace_id


def participation(box, *args: str):
    return CliRunner().invoke(
        sandbox_cmd,
        ["--state-dir", str(box.store.state_dir), "participation", *args],
        obj={},
        standalone_mode=False,
    )


def listed(raw) -> list[str]:
    response = raw.get(PARTICIPATIONS)
    assert response.status_code == 200
    return [p["marketplace"]["id"] for p in response.json()["payload"]]


def search(raw, marketplace_id: str):
    return raw.get(
        f"/listings/2021-08-01/items/{SELLER}", params={"marketplaceIds": marketplace_id}
    )


def test_add_then_remove_shows_in_get_marketplace_participations(sandbox, raw):
    before = listed(raw)
    assert ES not in before and FR in before

    result = participation(sandbox, "add", "es")
    assert result.exit_code == 0, result.output
    assert "sandbox account now participates in ES; marketplaces: " in result.output
    assert listed(raw) == [*before, ES]
    entry = raw.get(PARTICIPATIONS).json()["payload"][-1]
    assert entry["marketplace"]["countryCode"] == "ES"
    assert entry["marketplace"]["defaultCurrencyCode"] == "EUR"
    assert entry["participation"] == {"isParticipating": True, "hasSuspendedListings": False}
    assert search(raw, ES).status_code == 200  # a marketplace joined can be called

    result = participation(sandbox, "remove", "FR")
    assert result.exit_code == 0, result.output
    assert "no longer participates in FR" in result.output
    assert listed(raw) == [m for m in before if m != FR] + [ES]
    refused = search(raw, FR)
    assert refused.status_code == 400
    assert "does not participate in marketplace" in refused.json()["errors"][0]["message"]


_CLI = (
    "from engine.cli.sandbox_cmds import sandbox\n"
    "sandbox.main(args=sys.argv[2:], prog_name='sync', obj={}, standalone_mode=False)\n"
)
_RESET = "from engine.sandbox.store import Store\nStore(Path(sys.argv[1])).reset()\n"


def in_another_process(box, script: str, *args: str) -> None:
    """`script` run by another process on the same state dir (sys.argv[1])."""
    state = str(box.store.state_dir)
    subprocess.run(
        [sys.executable, "-c", "import sys\nfrom pathlib import Path\n" + script, state]
        + (["--state-dir", state, *args] if args else []),
        check=True,
        capture_output=True,
        cwd=Path(__file__).resolve().parents[2],
    )


def test_a_running_server_sees_changes_made_by_another_process(sandbox, raw):
    before = listed(raw)  # read, and cached by the running server
    assert search(raw, ES).status_code == 400
    in_another_process(sandbox, _CLI, "participation", "add", "ES")
    assert listed(raw) == [*before, ES]
    assert search(raw, ES).status_code == 200
    in_another_process(sandbox, _CLI, "participation", "remove", "FR")
    assert search(raw, FR).status_code == 400
    in_another_process(sandbox, _RESET)
    assert listed(raw) == before
    assert search(raw, FR).status_code == 200


def test_participations_are_read_again_only_when_the_store_changed(sandbox, raw):
    account = sandbox.account
    listed(raw)
    reads = []
    real_read = account.store.read

    def counting_read():
        reads.append(1)
        return real_read()

    account.store.read = counting_read  # type: ignore[method-assign]
    try:
        codes = account.info.marketplaces
        assert account.info.marketplaces == codes and not reads  # cached
        account.set_participation("ES", True)
        assert account.info.marketplaces == (*codes, "ES") and len(reads) == 1
    finally:
        del account.store.read


def test_reset_restores_the_seeded_participations(sandbox, raw):
    before = listed(raw)
    assert participation(sandbox, "add", "ES").exit_code == 0
    assert participation(sandbox, "remove", "FR").exit_code == 0
    sandbox.reset()
    assert listed(raw) == before
    assert search(raw, FR).status_code == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "XX"], "unknown marketplace 'XX'"),
        (["add", "DE"], "the sandbox account already participates in DE"),
        (["remove", "ES"], "the sandbox account does not participate in ES"),
    ],
)
def test_what_cannot_change_is_one_line(sandbox, args, message):
    result = participation(sandbox, *args)
    assert isinstance(result.exception, UserError)
    assert str(result.exception).startswith("sandbox participation: " + message)


def test_the_last_marketplace_cannot_be_left(sandbox, raw):
    codes = sandbox.account.info.marketplaces
    for code in codes[1:]:
        assert participation(sandbox, "remove", code).exit_code == 0
    result = participation(sandbox, "remove", codes[0])
    assert isinstance(result.exception, UserError)
    assert "only marketplace" in str(result.exception)
    assert listed(raw) == [MARKETPLACES[codes[0]].marketplace_id]


@pytest.mark.shared
@pytest.mark.skipif(not MODELS.is_dir(), reason="../shared/spapi-models is not available")
def test_changed_participations_still_conform_to_the_sellers_model(sandbox, raw):
    from tests.sandbox.test_conformance import SELLERS_MODEL, Model

    model = Model(SELLERS_MODEL)
    for args in (["add", "ES"], ["add", "US"], ["remove", "FR"]):
        assert participation(sandbox, *args).exit_code == 0
        body = model.check(PARTICIPATIONS, "GET", raw.get(PARTICIPATIONS))
        ids = [p["marketplace"]["id"] for p in body["payload"]]
        assert (MARKETPLACES[args[1]].marketplace_id in ids) == (args[0] == "add")
