"""Atomic writes: the whole text or the old file, never half of one, and a clear error."""

from __future__ import annotations

import pytest

from engine.core.errors import UserError
from engine.core.fileio import write_atomic


def test_a_file_is_replaced_whole_and_no_temp_file_stays(tmp_path):
    target = tmp_path / "out" / "plan.json"
    write_atomic(target, "first\n")
    write_atomic(target, "second\n")
    assert target.read_text(encoding="utf-8") == "second\n"
    assert [p.name for p in target.parent.iterdir()] == ["plan.json"]


def test_an_unwritable_place_is_one_user_error_naming_it(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    with pytest.raises(UserError, match=f"cannot write {blocker}/plan.json: "):
        write_atomic(blocker / "plan.json", "x")
    assert blocker.read_text(encoding="utf-8") == "not a folder"
