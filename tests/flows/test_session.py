"""live_session's heartbeat: what `sync status` reports as each activity's last run."""

from engine.flows.session import live_session
from engine.state import heartbeats


def beats(config):
    with live_session(config) as (_, db), db.read() as conn:
        return heartbeats.all_beats(conn, config.project.seller_id)


def test_a_block_that_returns_a_failure_is_not_recorded_as_a_success(seeded_config):
    config = seeded_config()
    with live_session(config, "apply"):
        pass
    [first] = beats(config).values()
    assert first.last_ok and first.last_success_at == first.last_run_at
    with live_session(config, "apply", succeeded=lambda: False):
        pass  # e.g. an apply whose writes failed: exit 1, no exception
    after = beats(config)["apply"]
    assert not after.last_ok
    assert after.last_success_at == first.last_success_at  # the last success is kept
