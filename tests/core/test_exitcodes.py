"""The exit codes: one meaning each, and the README's table says exactly what the enum says."""

import re
from pathlib import Path

from engine.core.exitcodes import ExitCode

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_code_has_one_meaning():
    values = [member.value for member in ExitCode]
    assert len(values) == len(set(values))
    assert ExitCode.BLOCKED != ExitCode.INTERNAL_ERROR


def test_terraform_detailed_exitcode_meanings_are_kept():
    assert (ExitCode.OK, ExitCode.USER_ERROR, ExitCode.CHANGES) == (0, 1, 2)


def test_readme_table_matches_the_enum():
    text = README.read_text(encoding="utf-8")
    table = text[text.index("### Exit codes") :]
    rows = re.findall(r"^\| (\d+) \| `([A-Z_]+)` \|", table, flags=re.MULTILINE)
    assert {(int(code), name) for code, name in rows} == {(m.value, m.name) for m in ExitCode}
