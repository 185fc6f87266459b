"""The embedded SP-API sandbox: a stateful, local SP-API emulator for the demo seller.

The engine's SP-API backend talks to it over HTTP exactly as it talks to Amazon, so the demo
and the tests exercise the real code path. Modules: `clock` (virtual time), `store` (SQLite
state shared between processes), `ratelimit` (Amazon's per-operation token buckets),
`listings` (attribute validation, patches and read views), `account` (the seller account's
operations and asynchronous processing), `seed` (the demo account built from desired state),
`faults` (switchable failure modes), `app` (the WSGI app and the local server), `runtime`
(`Sandbox`: all of it wired together, plus python-amazon-sp-api client wiring) and `jsonio`
(JSON whose numbers are Decimal). Orders: `lifecycle` (orders and their planned fate),
`orderschema`/`orderstore` (tables and data access), `orders` (Orders v0), `orders_2026`
(Orders 2026-01-01), `messaging`,
`promotions` and `scenario` (Seller Central stand-in, the incident), `demand` and
`simulation` (buyers over virtual time), `acknowledgement` (the order acknowledgement feed)
and `performance` (the seller performance report).
"""
