"""The live side: reading and writing listings through SP-API (Amazon or the sandbox).

`backend` is the protocol the planner, apply, the watchdog and ops use; `spapi` is its one
implementation over python-amazon-sp-api; `connect` builds it from the config.
"""
