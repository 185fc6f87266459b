"""project.yaml `state` (which store sellersync keeps its own state in), the
SELLERSYNC_BACKEND override, and loading project.yaml alone."""

from __future__ import annotations

import textwrap

import pytest

from engine.config import ConfigErrors, load_config
from engine.config.loader import load_project
from engine.config.model import Backend, StateStore
from tests.minimal_config import MINIMAL_FILES, write_config

REAL_ACCOUNT = (
    "backend:\n  kind: spapi\n  endpoint: https://sellingpartnerapi-eu.amazon.com\n"
    "state:\n  backend: postgresql\n  dsn_env: TEAM_DSN\n"
)


def project_with(extra: str) -> dict[str, str]:
    return {"project.yaml": textwrap.dedent(MINIMAL_FILES["project.yaml"]) + extra}


def test_state_defaults_to_sqlite_in_the_state_dir(make_config):
    assert make_config().project.state == StateStore("sqlite", "SELLERSYNC_STATE_DSN")


def test_state_on_postgresql_names_the_dsn_variable(make_config):
    config = make_config(project_with("state:\n  backend: postgresql\n  dsn_env: TEAM_DSN\n"))
    assert config.project.state == StateStore("postgresql", "TEAM_DSN")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("state:\n  backend: mysql\n", "state.backend"),
        ("state:\n  dsn_env: postgresql://u:p@h/db\n", "expected an environment variable name"),
        ("state:\n  dsn: postgresql://h/db\n", "dsn"),
    ],
)
def test_bad_state_settings_are_config_errors(make_config, extra, message):
    with pytest.raises(ConfigErrors) as caught:
        make_config(project_with(extra))
    assert any(message in line for line in caught.value.lines())


def test_a_dsn_pasted_into_dsn_env_is_not_echoed(make_config):
    with pytest.raises(ConfigErrors) as caught:
        make_config(project_with("state:\n  dsn_env: postgresql://u:hunter2@h/db\n"))
    text = "\n".join(caught.value.lines())
    assert "state.dsn_env" in text and "value not shown" in text
    assert "hunter2" not in text


def test_real_account_settings_hold_without_the_override(tmp_path):
    root = write_config(tmp_path / "config", project_with(REAL_ACCOUNT))
    project = load_config(root, env={}).project
    assert project.backend.kind == "spapi"
    assert project.state == StateStore("postgresql", "TEAM_DSN")


def test_sandbox_override_replaces_backend_and_keeps_state_off_the_shared_database(tmp_path):
    root = write_config(tmp_path / "config", project_with(REAL_ACCOUNT))
    config = load_config(root, env={"SELLERSYNC_BACKEND": "sandbox"})
    assert config.project.backend == Backend(kind="sandbox")
    assert config.project.state == StateStore("sqlite", "SELLERSYNC_STATE_DSN")
    assert config.state_dir == tmp_path / ".sellersync"


def test_override_does_not_change_the_config_digest(tmp_path):
    """The digest pins the files a plan came from; where it ran is the plan's backend identity."""
    root = write_config(tmp_path / "config", project_with(REAL_ACCOUNT))
    plain = load_config(root, env={})
    forced = load_config(root, env={"SELLERSYNC_BACKEND": "sandbox"})
    assert plain.digest == forced.digest


@pytest.mark.parametrize("value", ["spapi", "Sandbox", "sandbox "])
def test_unknown_backend_override_is_an_error_naming_the_variable(tmp_path, value):
    root = write_config(tmp_path / "config", project_with(REAL_ACCOUNT))
    with pytest.raises(ConfigErrors) as caught:
        load_config(root, env={"SELLERSYNC_BACKEND": value})
    assert caught.value.lines()[0] == (
        f"environment: SELLERSYNC_BACKEND: {value!r} is not a backend override; the only "
        "value is sandbox (unset it to use backend.kind from project.yaml)"
    )


def test_load_project_reads_only_project_yaml(tmp_path):
    root = write_config(tmp_path / "config", {"products/audio.yaml": "products: [oops\n"})
    project = load_project(root, env={})
    assert (project.seller_id, project.marketplaces) == ("A1TESTSELLER", ("US", "DE", "JP"))
    with pytest.raises(ConfigErrors):
        load_config(root, env={})


def test_load_project_reports_a_bad_or_missing_project_file(tmp_path):
    bad = write_config(tmp_path / "bad", {"project.yaml": "seller: {id: lower}\n"})
    with pytest.raises(ConfigErrors) as caught:
        load_project(bad, env={})
    assert any(line.startswith(f"{bad / 'project.yaml'}:") for line in caught.value.lines())
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigErrors) as caught:
        load_project(tmp_path / "empty", env={})
    assert "cannot read file" in caught.value.lines()[0]


def test_the_watch_webhook_can_come_from_the_environment(make_config):
    watch = make_config(project_with("watch:\n  webhook_url_env: TEAM_HOOK\n")).project.watch
    assert watch.webhook({"TEAM_HOOK": " https://hooks.example/T0KEN \n"}) == (
        "https://hooks.example/T0KEN",
        None,
    )
    assert watch.webhook({}) == (None, "TEAM_HOOK is not set: the summary was not posted")
    assert watch.webhook({"TEAM_HOOK": "hooks.example/T0KEN"}) == (
        None,
        "TEAM_HOOK is not an http(s) URL: the summary was not posted",
    )
    inline = make_config(project_with("watch:\n  webhook_url: https://h.example/x\n"))
    assert inline.project.watch.webhook({"TEAM_HOOK": "https://other"}) == (
        "https://h.example/x",
        None,
    )


def test_a_webhook_url_and_its_variable_together_are_an_error(make_config):
    both = "watch:\n  webhook_url: https://h.example/T0KEN\n  webhook_url_env: TEAM_HOOK\n"
    with pytest.raises(ConfigErrors) as raised:
        make_config(project_with(both))
    [error] = raised.value.errors
    assert error.field == "watch.webhook_url_env"
    assert "not both" in error.message and "T0KEN" not in error.message


IGNORE_RULES = """\
drift:
  ignore:
    - field: quantity
      skus: [HP-*]
      marketplaces: [DE]
      reason: the warehouse system sets DE stock directly
    - field: title
      skus: [SPK-1]
      reason: the brand team edits titles in Seller Central
"""


def test_drift_ignore_rules_match_field_marketplace_and_sku(make_config):
    quantity, title = make_config(project_with(IGNORE_RULES)).project.drift_ignore
    assert quantity.covers("quantity", "DE", "HP-100")
    assert not quantity.covers("quantity", "US", "HP-100")  # only DE
    assert not quantity.covers("our_price", "DE", "HP-100")
    assert not quantity.covers("quantity", "DE", "SPK-1")
    assert title.covers("title", "JP", "SPK-1") and title.marketplaces is None
    assert title.reason == "the brand team edits titles in Seller Central"
    assert title.origin.describe().endswith("/project.yaml:31 (drift.ignore[1])")


def test_an_unknown_field_in_a_drift_ignore_rule_names_file_line_and_field(make_config):
    bad = IGNORE_RULES.replace("field: title", "field: titel").replace(
        "reason: the brand", "reasons: the brand"
    )
    with pytest.raises(ConfigErrors) as raised:
        make_config(project_with(bad))
    lines = raised.value.lines()
    assert any(
        "/project.yaml:31:14: drift.ignore[1].field: expected one of: " in line
        and "quantity (got 'titel')" in line
        for line in lines
    ), lines
    assert any("drift.ignore[1].reasons: unknown field 'reasons'" in line for line in lines)
    assert any("drift.ignore[1]: missing required field 'reason'" in line for line in lines)


def test_a_drift_ignore_rule_names_only_enabled_marketplaces(make_config):
    with pytest.raises(ConfigErrors) as raised:
        make_config(project_with(IGNORE_RULES.replace("[DE]", "[FR]")))
    [error] = raised.value.errors
    assert error.field == "drift.ignore[0].marketplaces[0]"
    assert error.message == "marketplace FR is not enabled in project.yaml"


def test_drift_ignore_offers_exactly_the_fields_sellersync_manages():
    from engine.config.schema import schema_for
    from engine.core.fields import MANAGED_FIELDS

    rule = schema_for("project")["properties"]["drift"]["properties"]["ignore"]["items"]
    assert tuple(rule["properties"]["field"]["enum"]) == MANAGED_FIELDS


def test_the_application_quota_is_shared_only_through_postgresql(make_config):
    config = make_config(project_with("state:\n  backend: postgresql\n  app_quota: state\n"))
    assert config.project.state.app_quota == "state"
    assert make_config().project.state.app_quota == "auto"
    with pytest.raises(ConfigErrors) as caught:
        make_config(project_with("state:\n  app_quota: state\n"))
    assert any("state.app_quota" in line and "postgresql" in line for line in caught.value.lines())
