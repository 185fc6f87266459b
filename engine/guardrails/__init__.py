"""Plan-time guardrails: rules over a changeset and the desired state, levels, approvals and
the verdicts a plan carries. Pure: time, open orders and account health are passed in.

The entry point is `engine.guardrails.evaluate.evaluate`; `sync apply` refuses a plan with
`engine.guardrails.report.ensure_applicable`.
"""
