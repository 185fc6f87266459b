"""project.yaml `state`: which store sellersync keeps its own state in."""

from __future__ import annotations

import textwrap

import pytest

from engine.config import ConfigErrors
from engine.config.model import StateStore
from tests.minimal_config import MINIMAL_FILES


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
