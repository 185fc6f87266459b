"""Every top-level command: the module under engine.cli that defines it, and its summary.

`sync --help` lists the commands from this table without importing them, so it loads none
of the engine (no SP-API client, no database driver); a command's module is imported only
when that command runs or shows its own help. Each summary is the first sentence of the
command's docstring, which tests/cli/test_main.py keeps true.
"""

from __future__ import annotations

COMMANDS: dict[str, tuple[str, str]] = {
    "validate": (
        "config_cmds",
        "Check every config file, then the guardrails that need no live state (sales and "
        "promotions against the price floor, discount depth and duration limits).",
    ),
    "render": ("config_cmds", "Print the desired state: one listing per marketplace and SKU."),
    "explain": (
        "config_cmds",
        "Show every field of one listing with its value and the file:line it came from.",
    ),
    "plan": ("plan_cmds", "Show what apply would change to make live listings match the config."),
    "show": (
        "plan_cmds",
        "Print a saved plan FILE without applying it: the text `sync plan` printed, or its JSON.",
    ),
    "drift": (
        "plan_cmds",
        "For schedules: exit 2 when live differs from the config in a way that needs a person"
        " (drift, config changes not applied, listings never adopted), 0 when it does not.",
    ),
    "import": ("plan_cmds", "Write YAML for live listings the config does not describe yet."),
    "apply": ("apply_cmds", "Apply the saved plan FILE exactly, or nothing if it is stale."),
    "watch": (
        "watch_cmds",
        "Read new orders in every marketplace, detect sales under the floor, undeclared deep "
        "promotions and runaway velocity, and trip the breaker of each listing affected.",
    ),
    "incident": (
        "watch_cmds",
        "List tripped breakers, or show incident ID: affected orders, the projected 7-day "
        "cancellation rate, the cancellation feed, buyer messages and the evidence timeline.",
    ),
    "schema": (
        "schema_cmds",
        "Export the JSON Schemas the config is validated against, for editors.",
    ),
    "sandbox": (
        "sandbox_cmds",
        "The embedded SP-API sandbox: a local, stateful Amazon for the demo seller.",
    ),
    "state": (
        "state_cmds",
        "Inspect the values sellersync last applied per listing, or forget one listing's.",
    ),
    "force-unlock": (
        "state_cmds",
        "Release the account's apply lock ID, left behind by an apply that died.",
    ),
    "accounts": (
        "accounts_cmds",
        "List the seller accounts: name, seller id, marketplaces, backend, state backend.",
    ),
    "orders": (
        "ops_cmds",
        "Orders of every enabled marketplace: pull them, list them, route them to warehouses.",
    ),
    "health": (
        "ops_cmds",
        "Account health per marketplace: Amazon's seller performance report beside a "
        "projection from pulled orders.",
    ),
    "inventory": ("ops_cmds", "Stock views: FBA replenishment and MFN quantity deviation."),
    "status": (
        "ops_cmds",
        "Sync success rate, API latency per operation, inventory deviation, and when plan, "
        "apply, watch and pull last succeeded.",
    ),
}
