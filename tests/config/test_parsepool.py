"""Reading config files, in this process or in worker processes: the same results, in the
order asked for."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import parsepool
from engine.config.discovery import discover, display_name
from engine.config.parsepool import read_all
from tests.minimal_config import write_config


def jobs_for(root: Path) -> list[tuple[Path, str, str]]:
    files, _ = discover(root)
    return [(p, display_name(p), k) for p, k in files]


def summary(results) -> list[tuple[str | None, object, list[str]]]:
    return [
        (source.name if source else None, source.data if source else None, [str(p) for p in ps])
        for source, ps, _ in results
    ]


def test_small_configs_are_read_in_this_process_and_meanwhile_is_left_to_the_caller(tmp_path):
    jobs = jobs_for(write_config(tmp_path / "config"))
    calls: list[str] = []
    results, cached, overlapped = read_all(jobs, lambda: calls.append("ran"))
    assert overlapped is False and calls == [] and cached == set()
    assert [s.name for s, _, _ in results] == [name for _, name, _ in jobs]


def test_workers_give_the_same_results_in_job_order(tmp_path, monkeypatch):
    root = write_config(tmp_path / "config")
    # One large file, submitted first, must still come back in its own place.
    big = root / "products" / "zz-large.yaml"
    big.write_text((root / "products" / "audio.yaml").read_text().replace("HP-100", "HP-900"))
    (root / "marketplaces" / "DE.yaml").write_text("marketplace: [\n", encoding="utf-8")
    jobs = jobs_for(root)
    in_process, _, _ = read_all(jobs)
    monkeypatch.setattr(parsepool, "PARALLEL_THRESHOLD_BYTES", 0)
    calls: list[str] = []
    in_workers, cached, overlapped = read_all(jobs, lambda: calls.append("ran"))
    assert overlapped is True and calls == ["ran"] and cached == set()
    assert summary(in_workers) == summary(in_process)
    broken = [s for s in summary(in_workers) if s[2]]
    assert len(broken) == 1 and "invalid YAML" in broken[0][2][0]


def test_an_unreadable_file_is_a_problem_not_a_crash(tmp_path):
    missing = tmp_path / "fx.yaml"
    [(source, problems, digest)] = read_all([(missing, "fx.yaml", "fx")])[0]
    assert source is None and digest == b""
    assert [str(p) for p in problems] == ["fx.yaml: cannot read file: No such file or directory"]


@pytest.mark.parametrize(
    ("text", "message"), [("", "file is empty"), ("# only\n", "file is empty")]
)
def test_an_empty_file_is_reported(tmp_path, text, message):
    path = tmp_path / "fx.yaml"
    path.write_text(text, encoding="utf-8")
    [(source, problems, _)] = read_all([(path, "fx.yaml", "fx")])[0]
    assert source is None and [p.message for p in problems] == [message]
