"""The kill hook itself (the real kill is exercised by tests/cli/test_apply_cmds.py in a
subprocess)."""

from __future__ import annotations

from tests.apply.killed_apply import KILLED_EXIT, kill_after


def test_the_hook_exits_the_process_on_the_nth_write(monkeypatch):
    exits: list[int] = []
    monkeypatch.setattr("os._exit", exits.append)
    hook = kill_after(3)
    hook()
    hook()
    assert exits == []
    hook()
    assert exits == [KILLED_EXIT]
