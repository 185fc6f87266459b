"""Reading config files: parse and schema-check each one, in worker processes for a large
catalog, taking unchanged files from the parse cache (engine.config.parsecache).

Files are independent and YAML parsing is CPU-bound, so a catalog of many megabytes is
parsed by one process per core; below PARALLEL_THRESHOLD_BYTES starting them costs more
than it saves.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from engine.config import schema
from engine.config.errors import ConfigError, format_path
from engine.config.parsecache import ParseCache
from engine.config.yamlsafe import SourceFile, YamlProblem, parse_source
from engine.core.gcpause import gc_paused

# Below this much YAML, starting worker processes costs more than it saves.
PARALLEL_THRESHOLD_BYTES = 8 * 2**20

ReadResult = tuple[SourceFile | None, list[ConfigError], bytes]  # what read_and_validate gives


def read_and_validate(path: Path, name: str, kind: str) -> ReadResult:
    """Read, parse and schema-check one file: (source or None, problems, sha256 of bytes)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [ConfigError(name, None, "", f"cannot read file: {exc.strerror}")], b""
    digest = hashlib.sha256(raw).digest()
    try:
        with gc_paused():  # also in worker processes
            source = parse_source(raw, name)
        source.path, source.sha256 = path, digest
    except YamlProblem as problem:
        field = format_path(problem.path)
        return None, [ConfigError(name, problem.position, field, problem.message)], digest
    if source.data is None:
        return None, [ConfigError(name, None, "", "file is empty")], digest
    problems = schema.validate(source, kind, len(raw))
    if not problems:
        # Positions are rarely asked for once a file is valid; sending the text back from a
        # worker and keeping it cost as much as the parsed data.
        source.release_text()
    return source, problems, digest


def read_all(
    jobs: list[tuple[Path, str, str]],
    meanwhile: Callable[[], None] | None = None,
    cache: ParseCache | None = None,
) -> tuple[list[ReadResult], set[int], bool]:
    """Parse every file of `jobs` (path, display name, kind); the indexes of those the parse
    cache has (or has staged); whether `meanwhile` ran (it runs here while worker processes
    parse, when there are any). What is not cached is parsed by one process per core when
    there is a lot of it, else in this process."""
    results: list[ReadResult | None] = [None] * len(jobs)
    entries: dict[int, tuple[str, bytes]] = {}  # index -> (cache key, sha256 of the file)
    staged_here: set[int] = set()  # staged by a worker: already in the cache's hands
    if cache is not None:
        for index, (path, _, kind) in enumerate(jobs):
            try:
                digest = hashlib.sha256(path.read_bytes()).digest()
            except OSError:
                continue  # read_and_validate says why
            key = cache.key(digest, kind)
            if cache.has(key):
                entries[index] = (key, digest)
    to_parse = [i for i in range(len(jobs)) if i not in entries]
    total = sum(jobs[i][0].stat().st_size for i in to_parse if jobs[i][0].is_file())
    workers = min(os.cpu_count() or 1, len(to_parse))
    pool = None
    futures = {}
    if total >= PARALLEL_THRESHOLD_BYTES and workers >= 2:
        pool = ProcessPoolExecutor(max_workers=workers)
        # Largest files first keeps both cores busy to the end.
        for i in sorted(to_parse, key=lambda i: -jobs[i][0].stat().st_size):
            futures[i] = pool.submit(_parse_in_worker, *jobs[i], cache)
    try:
        if meanwhile is not None and pool is not None:
            meanwhile()
        for index, (key, digest) in entries.items():
            path, name, _ = jobs[index]
            data = cache.get(key) if cache is not None else None
            if data is None:  # unreadable after all: parse it
                to_parse.append(index)
                continue
            results[index] = SourceFile(name, None, data, path=path, sha256=digest), [], digest
        for i in to_parse:
            future = futures.get(i)
            if future is None:
                results[i] = read_and_validate(*jobs[i])
                continue
            result, staged = future.result()
            source, _, digest = result
            if staged and cache is not None and source is not None:
                source.data = cache.take_staged(cache.key(digest, jobs[i][2]))
                if source.data is None:  # unreadable after all: parse it here
                    results[i] = read_and_validate(*jobs[i])
                    continue
                staged_here.add(i)
            results[i] = result
    finally:
        if pool is not None:
            pool.shutdown()
    cached = {i for i in entries if i not in to_parse} | staged_here
    return _all(results), cached, pool is not None


def _parse_in_worker(
    path: Path, name: str, kind: str, cache: ParseCache | None
) -> tuple[ReadResult, bool]:
    """read_and_validate in a worker process. A valid file's data goes back through the
    parse cache (staged for this load, and read back by the main process) rather than
    through the result pipe: it has to be pickled once either way, and this way the main
    process does not pickle it again to cache it. True when it was staged."""
    result = read_and_validate(path, name, kind)
    source, problems, digest = result
    if cache is None or source is None or problems:
        return result, False
    if not cache.stage(cache.key(digest, kind), source.data):
        return result, False
    source.data = None
    return result, True


def _all(results: list[ReadResult | None]) -> list[ReadResult]:
    assert all(r is not None for r in results)
    return results  # type: ignore[return-value]
