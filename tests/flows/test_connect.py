"""Connecting: credentials from env or a file outside git, one-line errors, the sandbox."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import timedelta

import pytest

from engine.config.model import Backend
from engine.core.errors import UserError
from engine.core.marketplaces import REGION_ENDPOINTS
from engine.flows.connect import load_credentials, open_backend, sandbox_seed
from engine.live.clients import Connection, CredentialError, SpApiError, SpApiRefused
from engine.sandbox.runtime import Sandbox
from tests.conftest import NOW
from tests.live.conftest import calls_of

GOOD = {"refresh_token": "Atzr|r", "lwa_app_id": "amzn1.app", "lwa_client_secret": "s3cret"}
ENV = {"SP_API_REFRESH_TOKEN": "Atzr|e", "LWA_APP_ID": "amzn1.env", "LWA_CLIENT_SECRET": "e"}


def with_backend(config, **backend):
    project = replace(config.project, backend=Backend(**backend))
    return replace(config, project=project)


def test_environment_credentials_win(make_config):
    config = make_config()
    assert load_credentials(config, ENV) == {
        "refresh_token": "Atzr|e",
        "lwa_app_id": "amzn1.env",
        "lwa_client_secret": "e",
    }


def test_missing_credentials_are_one_clear_line(make_config):
    with pytest.raises(CredentialError) as err:
        load_credentials(make_config(), {"LWA_APP_ID": "x"})
    assert isinstance(err.value, UserError)
    message = str(err.value)
    assert "SP_API_REFRESH_TOKEN, LWA_CLIENT_SECRET" in message and "\n" not in message


def test_credentials_file_outside_the_repository(make_config, tmp_path):
    config = make_config()
    secret = tmp_path / "outside" / "sp-api.json"
    secret.parent.mkdir()
    secret.write_text(json.dumps(GOOD), encoding="utf-8")
    assert (
        load_credentials(with_backend(config, kind="spapi", credentials_file=str(secret)), {})
        == GOOD
    )
    secret.write_text(json.dumps({"lwa_app_id": "x"}), encoding="utf-8")
    with pytest.raises(CredentialError, match="has no refresh_token, lwa_client_secret"):
        load_credentials(with_backend(config, kind="spapi", credentials_file=str(secret)), {})
    with pytest.raises(CredentialError, match="does not exist"):
        load_credentials(with_backend(config, kind="spapi", credentials_file="nope.json"), {})


def test_credentials_file_inside_git_is_refused(make_config):
    config = make_config()
    (config.root / ".git").mkdir()
    (config.root / "creds.json").write_text(json.dumps(GOOD), encoding="utf-8")
    with pytest.raises(CredentialError, match="inside the git repository"):
        load_credentials(with_backend(config, kind="spapi", credentials_file="creds.json"), {})


def test_regions_and_endpoint_override():
    amazon = Connection(GOOD).client_kwargs("JP")
    assert amazon["marketplace"].endpoint == REGION_ENDPOINTS["FE"]
    assert amazon["marketplace"].region == "us-west-2"
    assert "auth_token_client_class" not in amazon
    local = Connection(GOOD, endpoint="http://127.0.0.1:9").client_kwargs("DE")
    assert local["marketplace"].endpoint == "http://127.0.0.1:9"
    token_class = local["auth_token_client_class"]
    assert (token_class.scheme, token_class.host) == ("http://", "127.0.0.1:9")
    assert "s3cret" not in repr(Connection(GOOD))


def test_rejected_credentials_are_a_user_error(make_backend, sandbox):
    wrong = dict(sandbox.credentials.as_spapi_credentials(), lwa_client_secret="wrong")
    backend = make_backend(credentials=wrong)
    with pytest.raises(CredentialError, match="invalid_client") as err:
        backend.read_listing("DE", "HP-002")
    assert "wrong" not in str(err.value)
    assert str(err.value).endswith(
        "the app's client id or secret was rejected: check LWA_APP_ID and LWA_CLIENT_SECRET "
        "(or lwa_app_id and lwa_client_secret in backend.credentials_file); a rotated client "
        "secret must be updated there"
    )


DENIED = "Access to requested resource is denied."


@pytest.mark.parametrize(
    ("status", "details", "advice"),
    [
        (
            403,
            "The access token you provided is revoked, malformed or invalid.",
            "the app's authorisation was refused: re-authorise the app for this seller in "
            "Seller Central and update SP_API_REFRESH_TOKEN (or refresh_token in "
            "backend.credentials_file)",
        ),
        (
            403,
            "The access token you provided has expired.",
            "the access token expired before it was used: check this machine's clock",
        ),
        (
            403,
            None,  # a missing role: Amazon says no more than this
            "check that seller.id in project.yaml is the seller who authorised the app and "
            "that the app has the role this call needs (Seller Central, Apps and Services), "
            "then re-authorise it",
        ),
        (
            401,
            "The request has no x-amz-access-token header.",
            "the app's authorisation was refused: re-authorise the app for this seller in "
            "Seller Central and update SP_API_REFRESH_TOKEN (or refresh_token in "
            "backend.credentials_file)",
        ),
    ],
)
def test_an_authorisation_refusal_says_what_to_change(status, details, advice):
    error = {"code": "Unauthorized", "message": DENIED}
    if details is not None:
        error["details"] = details
    refusal = SpApiRefused(status, [error], {"x-amzn-RequestId": "req-1"}, "DE")
    assert isinstance(refusal, SpApiError) and isinstance(refusal, UserError)
    assert not refusal.transient and refusal.exit_code == 1
    said = DENIED if details is None else f"{DENIED} {details}"
    assert refusal.lines() == [
        f"Amazon refused the SP-API call for DE: HTTP {status} Unauthorized: {said} "
        f"(request id req-1); {advice}"
    ]


def test_open_backend_serves_the_sandbox_from_the_config(make_config):
    config = make_config()
    with open_backend(config) as backend:
        assert backend.identity.kind == "sandbox"
        assert backend.identity.endpoint.startswith("http://127.0.0.1:")
        listing = backend.read_listing("DE", next(iter(_skus(config))))
        assert listing is not None and listing.resource.marketplace == "DE"
        assert calls_of(backend)[-1].status == 200
    assert config.state_dir.joinpath("sandbox.db").exists() or any(config.state_dir.iterdir())


def test_the_sandbox_backend_waits_on_the_sandbox_clock(make_config, clock):
    """A frozen sandbox clock never refills quota nor finishes a report in real time: the
    backend's waits must move it (a real-time timer would wait 126 s for this report)."""
    config = make_config()
    with Sandbox.open(config.state_dir, seed=sandbox_seed(config, clock.now()), clock=clock):
        pass  # seeded, and the frozen clock saved for the next process
    with open_backend(config) as backend:
        state = backend.read_listings(["DE"], refresh=True)
        assert state.listings and calls_of(backend)[0].operation == "createReport"
        assert state.snapshots["DE"] > clock.now()


def _skus(config):
    return list(config.products)


def test_the_sandbox_backend_waits_on_virtual_time(seeded_config):
    """A report takes the sandbox 90 virtual seconds: polling for it moves the frozen
    virtual clock on instead of sleeping, and the moved clock is kept for the next command."""
    config = seeded_config()
    started = time.monotonic()
    with open_backend(config) as backend:
        state = backend.read_listings(["DE"], refresh=True)
    assert time.monotonic() - started < 20
    assert len(state.listings) == 2
    box = Sandbox.open(config.state_dir)
    try:
        assert box.clock.now() >= NOW + timedelta(seconds=90)
        assert box.clock.frozen
    finally:
        box.store.close()
