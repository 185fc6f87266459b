"""The SQLite tables behind the sandbox's orders, promotions and buyer messages.

Kept apart from `orderstore` (the data access) so that `store` can create and reset these
tables without importing the code that reads them. Same conventions as `store`: times are
integer microseconds since the epoch (UTC), money is decimal text (never REAL), JSON is text.
"""

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    amazon_order_id TEXT PRIMARY KEY, seller_id TEXT NOT NULL, marketplace_id TEXT NOT NULL,
    channel TEXT NOT NULL, status TEXT NOT NULL, currency TEXT NOT NULL,
    purchase_date INTEGER NOT NULL, last_update INTEGER NOT NULL,
    latest_ship_date INTEGER NOT NULL, ship_country TEXT NOT NULL, ship_city TEXT NOT NULL,
    paid_at INTEGER NOT NULL, ship_at INTEGER NOT NULL, valid_tracking INTEGER NOT NULL,
    cancel_request_at INTEGER, buyer_cancel_reason TEXT, defect TEXT, defect_at INTEGER,
    buyer_requested_cancel INTEGER NOT NULL DEFAULT 0, shipped_at INTEGER,
    canceled_at INTEGER, canceled_by TEXT, cancel_reason TEXT, next_event_at INTEGER);
CREATE INDEX IF NOT EXISTS orders_by_purchase ON orders (purchase_date, amazon_order_id);
CREATE INDEX IF NOT EXISTS orders_by_update ON orders (last_update, amazon_order_id);
CREATE INDEX IF NOT EXISTS orders_by_event ON orders (next_event_at);
CREATE TABLE IF NOT EXISTS order_items (
    order_item_id TEXT PRIMARY KEY, amazon_order_id TEXT NOT NULL, position INTEGER NOT NULL,
    sku TEXT NOT NULL, asin TEXT NOT NULL, title TEXT NOT NULL, quantity INTEGER NOT NULL,
    item_price TEXT NOT NULL, promotion_discount TEXT NOT NULL, promotion_ids TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS items_by_order ON order_items (amazon_order_id, position);
CREATE TABLE IF NOT EXISTS promotions (
    promotion_id TEXT PRIMARY KEY, kind TEXT NOT NULL, code TEXT, discount_pct TEXT NOT NULL,
    sku_pattern TEXT NOT NULL, marketplace_id TEXT NOT NULL, starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL, max_redemptions INTEGER, redemptions INTEGER NOT NULL,
    created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS buyer_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, amazon_order_id TEXT NOT NULL,
    marketplace_id TEXT NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL,
    sent_at INTEGER NOT NULL);
"""

# Account data: `Store.reset()` empties these (the seed has no orders).
TABLES = ("orders", "order_items", "promotions", "buyer_messages")
# The meta key numbering order and item ids (`OrderTables.next_serial`); reset removes it
# with the orders, so the same seed after a reset gives the same ids again.
SERIAL = "order_serial"
