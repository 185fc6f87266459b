"""What `sync validate` found, for machines: GitHub workflow annotations, JSON and SARIF 2.1.0.

A finding is a config error (with its file, line, column and field) or an offline guardrail
verdict that blocks or warns (about a listing or a marketplace, not a line of a file). The
text output stays `sync validate`'s default; these formats put the same findings where a
pull request shows them: annotations on the changed lines, or a code-scanning upload.

Pure: findings in, lines or JSON-ready values out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from engine.config.errors import ConfigError
from engine.guardrails.verdict import Verdict

Level = Literal["error", "warning"]
CONFIG_RULE = "config"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str  # CONFIG_RULE, or "guardrail/<rule id>"
    level: Level
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "level": self.level,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
        }


def config_findings(errors: Sequence[ConfigError]) -> list[Finding]:
    return [
        Finding(
            rule=CONFIG_RULE,
            level="error",
            message=f"{e.field}: {e.message}" if e.field else e.message,
            file=e.file,
            line=e.position.line if e.position else None,
            column=e.position.column if e.position else None,
        )
        for e in errors
    ]


def error_finding(message: str) -> Finding:
    """An error about no one file (a missing config directory, say)."""
    return Finding(rule=CONFIG_RULE, level="error", message=message)


def verdict_findings(verdicts: Sequence[Verdict]) -> list[Finding]:
    """Blocks as errors, warnings as warnings; passes and approved findings are no finding."""
    levels: dict[str, Level] = {"block": "error", "warn": "warning"}
    return [
        Finding(
            rule=f"guardrail/{v.rule}",
            level=levels[v.outcome],
            message=f"{v.scope}: {v.message} ({v.level})",
        )
        for v in verdicts
        if v.outcome in levels
    ]


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(findings: Sequence[Finding]) -> list[str]:
    """One workflow command per finding (`::error file=...,line=...,col=...::message`), escaped
    as the runner expects, so that GitHub shows it on the file's line in the pull request."""
    lines = []
    for f in findings:
        props = [("title", f.rule)]
        if f.file is not None:
            props.insert(0, ("file", f.file))
            if f.line is not None:
                props.insert(1, ("line", str(f.line)))
                if f.column is not None:
                    props.insert(2, ("col", str(f.column)))
        rendered = ",".join(f"{key}={_escape_property(value)}" for key, value in props)
        lines.append(f"::{f.level} {rendered}::{_escape_data(f.message)}")
    return lines


def findings_json(findings: Sequence[Finding], *, valid: bool) -> dict[str, Any]:
    return {
        "valid": valid,
        "errors": sum(1 for f in findings if f.level == "error"),
        "warnings": sum(1 for f in findings if f.level == "warning"),
        "findings": [f.to_dict() for f in findings],
    }


RULE_TEXT = {CONFIG_RULE: "A config file does not match its schema or its checks."}


def sarif(findings: Sequence[Finding], *, version: str) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run: the tool, the rules the findings name, and each
    finding as a result (located in its file when it has one)."""
    rules = list(dict.fromkeys(f.rule for f in findings))
    results = []
    for f in findings:
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "ruleIndex": rules.index(f.rule),
            "level": f.level,
            "message": {"text": f.message},
        }
        if f.file is not None:
            location: dict[str, Any] = {"artifactLocation": {"uri": f.file}}
            if f.line is not None:
                location["region"] = {"startLine": f.line, "startColumn": f.column or 1}
            result["locations"] = [{"physicalLocation": location}]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "sellersync",
                        "version": version,
                        "rules": [
                            {
                                "id": rule,
                                "shortDescription": {
                                    "text": RULE_TEXT.get(
                                        rule, f"Guardrail {rule.removeprefix('guardrail/')}."
                                    )
                                },
                            }
                            for rule in rules
                        ],
                    }
                },
                "results": results,
            }
        ],
    }
