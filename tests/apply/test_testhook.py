"""The kill switch is off unless its variable is set (the real kill is exercised by
tests/cli/test_apply_cmds.py in a subprocess)."""

from __future__ import annotations

from engine.apply.testhook import KILL_AFTER_WRITES, kill_switch


def test_unset_or_empty_there_is_no_hook():
    assert kill_switch({}) is None
    assert kill_switch({KILL_AFTER_WRITES: ""}) is None


def test_the_hook_exits_the_process_on_the_nth_write(monkeypatch):
    exits: list[int] = []
    monkeypatch.setattr("os._exit", exits.append)
    hook = kill_switch({KILL_AFTER_WRITES: "3"})
    hook()
    hook()
    assert exits == []
    hook()
    assert exits == [137]
