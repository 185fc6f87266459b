"""The GitHub workflows: triggers, permissions, pins, the sync commands they run (checked
against the CLI itself), and the exit-code handling of their shell steps, run in bash with a
stand-in `sync` so that "exit 2 means changes, not failure" is tested, not just read."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from engine.cli.main import cli
from engine.config.accounts import Account
from engine.config.loader import load_project
from engine.plan.markdown import MARKER
from tests.minimal_config import write_config

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / ".github" / "workflows"
SETUP_ACTION = REPO / ".github" / "actions" / "setup" / "action.yml"
ACCOUNT_WORKFLOWS = ("plan.yml", "apply.yml", "drift.yml", "ops.yml")
SECRET_VARS = ("SP_API_REFRESH_TOKEN", "LWA_APP_ID", "LWA_CLIENT_SECRET", "SELLERSYNC_STATE_DSN")
# `sync <args>` in a shell line, up to the end of the command ($( ... ), pipes, ;).
SYNC_CALL = re.compile(r"(?:^|[\s(;&|])sync\s+([^\n;&|)<>]*)")


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
    assert workflow_names() == ["apply.yml", "ci.yml", "drift.yml", "ops.yml", "plan.yml"]
    for name in workflow_names():
        assert load(name)["jobs"], name


def test_triggers():
    assert list(triggers(load("plan.yml"))) == ["pull_request"]
    assert triggers(load("apply.yml"))["push"] == {"branches": ["main"]}
    drift = triggers(load("drift.yml"))
    assert "workflow_dispatch" in drift
    [cron] = [entry["cron"] for entry in drift["schedule"]]
    assert cron.split()[1] == "*/6"  # every six hours
    ci = triggers(load("ci.yml"))
    assert "pull_request" in ci and ci["push"] == {"branches": ["main"]}


# The only write scopes any job holds, and why: everything else reads.
WRITES = {
    ("plan.yml", "plan"): {"pull-requests"},  # the plan comment
    ("drift.yml", "drift"): {"issues"},  # the drift issue
}


@pytest.mark.parametrize("name", ["apply.yml", "ci.yml", "drift.yml", "plan.yml"])
def test_permissions_are_least_privilege(name):
    doc = load(name)
    assert doc["permissions"] == {"contents": "read"}, "workflow default: read the code only"
    for job_name, job in doc["jobs"].items():
        scopes = job.get("permissions", {})
        assert isinstance(scopes, dict), f"{name} {job_name}: name each scope"
        writes = {scope for scope, level in scopes.items() if level == "write"}
        assert writes == WRITES.get((name, job_name), set()), f"{name} {job_name}"


def test_actions_are_pinned_to_a_major_version():
    uses = [s["uses"] for name in workflow_names() for s in all_steps(load(name)) if "uses" in s]
    uses += [s["uses"] for s in setup_action_steps() if "uses" in s]
    for ref in uses:
        assert ref == "./.github/actions/setup" or re.fullmatch(r"[\w-]+/[\w-]+@v\d+", ref), ref


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
    for name in workflow_names():
        for job_name, job in load(name)["jobs"].items():
            uses = [s.get("uses", "") for s in job["steps"]]
            assert uses[0] == "actions/checkout@v4", f"{name} {job_name}"
            assert "./.github/actions/setup" in uses or any(
                u.startswith("actions/setup-python@") for u in uses
            ), f"{name} {job_name} installs no Python"


@pytest.mark.parametrize("name", ACCOUNT_WORKFLOWS)
def test_account_jobs_run_in_a_matrix_of_sync_accounts(name):
    doc = load(name)
    listing = step(doc, "accounts", "List the seller accounts")
    assert "sync accounts --json" in listing["run"]
    [(job_name, job)] = [(n, j) for n, j in doc["jobs"].items() if n != "accounts"]
    assert job["needs"] == "accounts"
    assert job["strategy"]["matrix"] == {
        "include": "${{ fromJSON(needs.accounts.outputs.matrix) }}"
    }
    assert job["strategy"]["fail-fast"] is False, "one account's failure must not stop others"
    assert job["env"]["SELLERSYNC_CONFIG"] == "${{ matrix.config_dir }}"
    assert set(SECRET_VARS) <= set(job["env"]), f"{job_name}: secrets reach sync through env"


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


def test_apply_finds_the_artifact_plan_yml_uploads():
    upload = step(load("plan.yml"), "plan", "Upload the plan")
    download = step(load("apply.yml"), "apply", "Download the reviewed plan")
    assert upload["with"]["name"] == download["with"]["name"] == "plan-${{ matrix.seller_id }}"
    assert set(upload["with"]["path"].split()) == {"plan.json", "plan.md"}
    script = step(load("apply.yml"), "apply", "Find the plan reviewed on the pull request")
    assert "workflow_id: 'plan.yml'" in script["with"]["script"]


def test_plan_comment_is_found_by_the_renderers_marker_made_per_account():
    script = step(load("plan.yml"), "plan", "Post or update the plan comment")["with"]["script"]
    assert f"'{MARKER}'" in script
    assert MARKER[:-4] + ":${process.env.ACCOUNT} -->" in script


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


# ---- the sync commands the workflows run exist, with these flags ------------------------


def sync_calls() -> list[tuple[str, str, list[str]]]:
    """(workflow, step, argv after `sync`) for every sync command in a run step."""
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
        ("apply.yml", "plan"),
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
    }


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
        if name not in command.commands:
            pytest.fail(f"{workflow} runs `sync {name}`, which the CLI does not have")
        command = command.commands[name]
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


# ---- the shell steps, run in bash with a stand-in sync ----------------------------------


@pytest.fixture
def runner(tmp_path: Path):
    """Runs a step's script as GitHub does (bash -eo pipefail) in tmp_path, with a `sync`
    that exits with $SYNC_EXIT and files for GITHUB_OUTPUT, _ENV and _STEP_SUMMARY."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "sync"
    fake.write_text('#!/bin/sh\necho "sync $*" >> calls\nexit "${SYNC_EXIT:-0}"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    (tmp_path / "plan.md").write_text("### sellersync plan\n")
    (tmp_path / "drift.md").write_text("### drift\n")

    def run(script: str, **env: str) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
        files = {k: tmp_path / k.lower() for k in ("GITHUB_OUTPUT", "GITHUB_ENV")}
        files["GITHUB_STEP_SUMMARY"] = tmp_path / "summary"
        for path in files.values():
            path.write_text("")
        full_env = {
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            **{k: str(v) for k, v in files.items()},
            **env,
        }
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=tmp_path,
            env=full_env,
            capture_output=True,
            text=True,
            check=False,
        )
        outputs = {k: v.read_text() for k, v in files.items()}
        return done, outputs

    return run


@pytest.mark.parametrize(("code", "ok"), [(0, True), (2, True), (1, False), (4, False)])
def test_plan_step_treats_exit_2_as_changes_not_failure(runner, code, ok):
    script = step(load("plan.yml"), "plan", "Plan")["run"]
    done, files = runner(script, SYNC_EXIT=str(code))
    assert (done.returncode == 0) is ok
    assert (files["GITHUB_STEP_SUMMARY"] == "### sellersync plan\n") is ok


@pytest.mark.parametrize(
    ("name", "job", "step_name", "output"),
    [
        ("apply.yml", "apply", "Plan main", "changes"),
        ("drift.yml", "drift", "Detect drift", "drifted"),
    ],
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


def test_apply_step_explains_exit_4_and_keeps_the_code(runner):
    script = step(load("apply.yml"), "apply", "Apply")["run"]
    done, _ = runner(script, SYNC_EXIT="4", PLAN="plan.json")
    assert done.returncode == 4 and "docs/ci.md, 'When apply refuses'" in done.stdout
    done, _ = runner(script, SYNC_EXIT="0", PLAN="reviewed/plan.json")
    assert done.returncode == 0 and "::error::" not in done.stdout


@pytest.mark.skipif(
    shutil.which("jq") is None, reason="jq (preinstalled on GitHub runners) is absent"
)
@pytest.mark.parametrize(
    ("reviewed", "chosen"),
    [
        (
            {
                "config_digest": "a" * 64,
                "backend": {"kind": "spapi", "seller_id": "A1", "endpoint": None},
            },
            "reviewed/plan.json",
        ),
        (
            {
                "config_digest": "b" * 64,
                "backend": {"kind": "spapi", "seller_id": "A1", "endpoint": None},
            },
            "plan.json",
        ),
        (
            {
                "config_digest": "a" * 64,
                "backend": {"kind": "sandbox", "seller_id": "A1", "endpoint": None},
            },
            "plan.json",
        ),
        (None, "plan.json"),
    ],
)
def test_apply_uses_the_reviewed_plan_only_for_the_same_config_and_backend(
    runner, tmp_path, reviewed, chosen
):
    main = {
        "config_digest": "a" * 64,
        "created_at": "2026-11-23T00:00:00Z",
        "backend": {"seller_id": "A1", "kind": "spapi", "endpoint": None},
    }
    (tmp_path / "plan.json").write_text(json.dumps(main))
    if reviewed is not None:
        (tmp_path / "reviewed").mkdir()
        (tmp_path / "reviewed" / "plan.json").write_text(
            json.dumps({**reviewed, "created_at": "2026-11-20T00:00:00Z"})
        )
    script = step(load("apply.yml"), "apply", "Choose the plan to apply")["run"]
    done, files = runner(script, PR="12")
    assert done.returncode == 0
    assert files["GITHUB_OUTPUT"] == f"file={chosen}\n"


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
  'issues.listForRepo', 'issues.create', 'issues.update',
  'repos.listPullRequestsAssociatedWithCommit', 'actions.listWorkflowRuns'];
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
};
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
new AsyncFunction('require', 'github', 'context', 'core', scenario.script)(
  require, github, scenario.context, core,
).then(() => console.log(JSON.stringify({ calls, outputs })));
"""
CONTEXT = {
    "repo": {"owner": "agency", "repo": "listings"},
    "payload": {"pull_request": {"number": 7}},
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

    def run(script: str, responses: dict[str, Any], **env: str) -> dict[str, Any]:
        scenario = tmp_path / "scenario.json"
        scenario.write_text(
            json.dumps({"script": script, "responses": responses, "context": CONTEXT})
        )
        done = subprocess.run(
            [node, str(tmp_path / "harness.js"), str(scenario)],
            cwd=tmp_path,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(done.stdout)

    return run


def _script(name: str, job: str, step_name: str) -> str:
    return step(load(name), job, step_name)["with"]["script"]


PLAN_ENV = {"ACCOUNT": "accounts/north", "SELLER_ID": "A1NORTHSELLER"}


def test_plan_comment_is_created_once_then_edited_per_account(github_script, tmp_path):
    (tmp_path / "plan.md").write_text(f"{MARKER}\n### sellersync plan\n\n**Plan: 1 to add**\n")
    script = _script("plan.yml", "plan", "Post or update the plan comment")
    first = github_script(script, {"issues.listComments": []}, **PLAN_ENV)
    [(_, created)] = [c for c in first["calls"] if c[0] == "issues.createComment"]
    assert created["issue_number"] == 7
    assert created["body"].splitlines()[:3] == [
        "<!-- sellersync-plan:accounts/north -->",
        "**Account:** `accounts/north` (seller A1NORTHSELLER)",
        "### sellersync plan",
    ]
    comments = [
        {"id": 1, "user": {"type": "Bot"}, "body": "<!-- sellersync-plan:accounts/northwind -->"},
        {"id": 2, "user": {"type": "User"}, "body": created["body"]},  # a person quoting it
        {"id": 3, "user": {"type": "Bot"}, "body": created["body"]},
    ]
    again = github_script(script, {"issues.listComments": comments}, **PLAN_ENV)
    assert [c[0] for c in again["calls"]] == ["issues.listComments", "issues.updateComment"]
    assert again["calls"][1][1]["comment_id"] == 3


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


def test_apply_finds_the_plan_run_of_the_merged_pull_requests_head(github_script):
    script = _script("apply.yml", "apply", "Find the plan reviewed on the pull request")
    pulls = [
        {"number": 3, "merged_at": None, "merge_commit_sha": "c0ffee", "head": {"sha": "aaa"}},
        {
            "number": 4,
            "merged_at": "2026-11-22T10:00:00Z",
            "merge_commit_sha": "c0ffee",
            "head": {"sha": "bbb"},
        },
    ]
    result = github_script(
        script,
        {
            "repos.listPullRequestsAssociatedWithCommit": pulls,
            "actions.listWorkflowRuns": {"workflow_runs": [{"id": 42}, {"id": 41}]},
        },
    )
    [(_, runs)] = [c for c in result["calls"] if c[0] == "actions.listWorkflowRuns"]
    assert (runs["workflow_id"], runs["head_sha"]) == ("plan.yml", "bbb")
    assert result["outputs"] == {"run_id": "42", "pr": "4"}
    unmerged = github_script(script, {"repos.listPullRequestsAssociatedWithCommit": pulls[:1]})
    assert unmerged["outputs"] == {} and unmerged["calls"][-1][0] == "notice"
