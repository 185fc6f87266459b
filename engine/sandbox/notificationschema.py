"""The SQLite tables behind the sandbox's Notifications API and its publisher.

Kept apart from `notifications` so that `store` can create and reset them without importing
the code that uses them (the same split as `orderschema`). Times are integer microseconds.
"""

SCHEMA = """
CREATE TABLE IF NOT EXISTS notification_destinations (
    destination_id TEXT PRIMARY KEY, name TEXT NOT NULL, arn TEXT NOT NULL,
    created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS notification_subscriptions (
    subscription_id TEXT PRIMARY KEY, notification_type TEXT NOT NULL UNIQUE,
    payload_version TEXT NOT NULL, destination_id TEXT NOT NULL,
    processing_directive TEXT, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS notification_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, notification_type TEXT NOT NULL,
    subscription_id TEXT NOT NULL, due_at INTEGER NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS notification_outbox_due ON notification_outbox (due_at, id);
CREATE TABLE IF NOT EXISTS notification_order_state (
    amazon_order_id TEXT PRIMARY KEY, signature TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS notification_listing_state (
    sku TEXT NOT NULL, marketplace_id TEXT NOT NULL, quantity INTEGER, status TEXT NOT NULL,
    PRIMARY KEY (sku, marketplace_id));
"""

# Account data: `Store.reset()` empties these with the orders.
TABLES = (
    "notification_destinations",
    "notification_subscriptions",
    "notification_outbox",
    "notification_order_state",
    "notification_listing_state",
)
