import pytest

from engine.config import load_config
from engine.desired.render import render
from tests.conftest import NOW
from tests.minimal_config import write_config


@pytest.fixture(scope="session")
def make_config_cached(tmp_path_factory):
    """Rendered minimal config, built once (hypothesis calls the test many times)."""
    root = write_config(tmp_path_factory.mktemp("plan") / "config")
    return render(load_config(root), NOW).resources
