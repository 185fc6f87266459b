"""The sandbox's Notifications API, and the publisher that delivers to SQS as Amazon does.

Operations (notifications model v1): createDestination, getDestinations (both grantless on
Amazon), createSubscription, getSubscription and deleteSubscriptionById. A destination is an
SQS queue ARN; one subscription per notification type, as on Amazon (a second one is a 409).

The publisher watches the account's store for what Amazon notifies about and puts each
notification in an outbox, due a delivery lag after the event: drawn per notification from
the timing profile (engine.sandbox.timing: 60 s in `fast`, 1 to 5 minutes in `amazon`), or
a fixed `lag` when one is given. `tick()` (the sandbox calls it whenever its clock moves)
collects new events and sends every due notification to its subscription's queue; a send
that fails stays in the outbox and is retried on the next tick, so delivery is at least
once, never lost. As from an SQS standard queue, delivery is also not exactly once and not
in order: a share of notifications (the profile's `notification_duplicate_share`) is sent
again, the same message with the same NotificationId, after another drawn lag, and lags
drawn per notification let a later event arrive first. What is published:

- ORDER_CHANGE whenever an order appears or its status or buyer-cancel flag changes. Like
  Amazon's, it carries SKUs, quantities and statuses but no prices or promotions: a consumer
  that needs the price reads the order.
- LISTINGS_ITEM_MFN_QUANTITY_CHANGE when a merchant-fulfilled quantity changes (orders,
  cancellations, listing writes, Seller Central edits).
- LISTINGS_ITEM_STATUS_CHANGE when a listing's BUYABLE / DISCOVERABLE status changes, or it
  is deleted.

The first look at a listing records it without notifying (nothing changed yet). Payloads
follow the schemas under spapi-models/schemas/notifications/.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.core import jsonio
from engine.core.marketplaces import MARKETPLACES
from engine.sandbox import listings, orders
from engine.sandbox.account import Account, ApiError, invalid_input
from engine.sandbox.lifecycle import PENDING, SHIPPED, UNSHIPPED, Order
from engine.sandbox.orderstore import OrderTables
from engine.sandbox.sqs import arn_parts
from engine.sandbox.store import Tx, to_micros

log = logging.getLogger(__name__)

ORDER_CHANGE = "ORDER_CHANGE"
STATUS_CHANGE = "LISTINGS_ITEM_STATUS_CHANGE"
QUANTITY_CHANGE = "LISTINGS_ITEM_MFN_QUANTITY_CHANGE"
NOTIFICATION_TYPES = (ORDER_CHANGE, STATUS_CHANGE, QUANTITY_CHANGE)
PAYLOAD_VERSION = "1.0"
APPLICATION_ID = "amzn1.sellerapps.app.sellersync-sandbox"
BATCH = 10  # SQS SendMessageBatch takes at most ten entries

# What an ORDER_CHANGE is about: a new signature of an order is a change to notify.
_ORDER_SIGNATURE = "status || ':' || buyer_requested_cancel"
Sender = Callable[[str, list[str]], None]  # (queue ARN, message bodies)


def iso_ms(value: datetime) -> str:
    """Notification timestamps: ISO 8601 UTC with milliseconds, e.g. 2020-01-11T00:09:53.109Z."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def not_found(message: str) -> ApiError:
    return ApiError(404, "NotFound", message)


class Notifications:
    """The Notifications API of one sandbox account and its publisher."""

    def __init__(
        self,
        account: Account,
        *,
        lag: timedelta | None = None,
        sender: Sender | None = None,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.account = account
        self.lag = lag
        self.sender = sender
        self._new_id = new_id

    # -- API --------------------------------------------------------------------------------
    def create_destination(self, body: object) -> dict[str, Any]:
        if not isinstance(body, Mapping) or not isinstance(body.get("name"), str):
            raise invalid_input("The request body needs a name and a resourceSpecification.")
        name = body["name"]
        spec = body.get("resourceSpecification")
        sqs = spec.get("sqs") if isinstance(spec, Mapping) else None
        arn = sqs.get("arn") if isinstance(sqs, Mapping) else None
        if not isinstance(arn, str):
            raise invalid_input(
                "The sandbox delivers to SQS: give resourceSpecification.sqs.arn.",
                "EventBridge destinations are not emulated.",
            )
        try:
            arn_parts(arn)
        except ValueError as err:
            raise invalid_input(f"Invalid SQS ARN '{arn}'.", str(err)) from None
        with self.account.store.write() as tx:
            c = tx.connection
            row = c.execute(
                "SELECT destination_id FROM notification_destinations WHERE arn = ?", (arn,)
            ).fetchone()
            if row is not None:
                raise ApiError(
                    409, "Conflict", f"A destination for {arn} already exists: {row[0]}."
                )
            destination_id = self._new_id()
            c.execute(
                "INSERT INTO notification_destinations (destination_id, name, arn, created_at) "
                "VALUES (?, ?, ?, ?)",
                (destination_id, name, arn, to_micros(self.account.clock.now())),
            )
        return {"payload": _destination(destination_id, name, arn)}

    def get_destinations(self) -> dict[str, Any]:
        with self.account.store.read() as tx:
            rows = tx.connection.execute(
                "SELECT destination_id, name, arn FROM notification_destinations "
                "ORDER BY created_at, destination_id"
            ).fetchall()
        return {"payload": [_destination(*row) for row in rows]}

    def create_subscription(self, notification_type: str, body: object) -> dict[str, Any]:
        _check_type(notification_type)
        if not isinstance(body, Mapping):
            raise invalid_input("The request body needs payloadVersion and destinationId.")
        version, destination_id = body.get("payloadVersion"), body.get("destinationId")
        if version != PAYLOAD_VERSION:
            raise invalid_input(f"Unsupported payloadVersion {version!r}; use '1.0'.")
        directive = body.get("processingDirective")
        with self.account.store.write() as tx:
            c = tx.connection
            if (
                not isinstance(destination_id, str)
                or not c.execute(
                    "SELECT 1 FROM notification_destinations WHERE destination_id = ?",
                    (destination_id,),
                ).fetchone()
            ):
                raise invalid_input(f"Destination {destination_id!r} does not exist.")
            if _subscription_row(tx, notification_type) is not None:
                raise ApiError(
                    409,
                    "Conflict",
                    f"A subscription for {notification_type} already exists for this "
                    "application and selling partner.",
                )
            if notification_type == ORDER_CHANGE:
                # Amazon notifies about changes after subscribing, not about past orders.
                c.execute(
                    "INSERT OR REPLACE INTO notification_order_state (amazon_order_id, signature) "
                    f"SELECT amazon_order_id, {_ORDER_SIGNATURE} FROM orders"
                )
            subscription_id = self._new_id()
            c.execute(
                "INSERT INTO notification_subscriptions (subscription_id, notification_type, "
                "payload_version, destination_id, processing_directive, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    subscription_id,
                    notification_type,
                    version,
                    destination_id,
                    None if directive is None else jsonio.dumps(directive),
                    to_micros(self.account.clock.now()),
                ),
            )
            row = _subscription_row(tx, notification_type)
        assert row is not None
        return {"payload": _subscription(row)}

    def get_subscription(self, notification_type: str) -> dict[str, Any]:
        _check_type(notification_type)
        found = self.subscription(notification_type)
        if found is None:
            raise not_found(f"No subscription for {notification_type}.")
        return {"payload": found}

    def subscription(self, notification_type: str) -> dict[str, Any] | None:
        """The subscription to a notification type, None when there is none."""
        with self.account.store.read() as tx:
            row = _subscription_row(tx, notification_type)
        return None if row is None else _subscription(row)

    def delete_subscription(self, notification_type: str, subscription_id: str) -> dict[str, Any]:
        _check_type(notification_type)
        with self.account.store.write() as tx:
            deleted = tx.connection.execute(
                "DELETE FROM notification_subscriptions "
                "WHERE notification_type = ? AND subscription_id = ?",
                (notification_type, subscription_id),
            ).rowcount
        if not deleted:
            raise not_found(f"No {notification_type} subscription {subscription_id}.")
        return {}

    def delivery_lag(self) -> timedelta:
        """How long the next notification takes to reach its queue."""
        return self.lag if self.lag is not None else self.account.timings.notification_delivery()

    # -- publisher --------------------------------------------------------------------------
    def tick(self) -> int:
        """Collect new events and deliver what is due; returns how many were delivered."""
        self.collect()
        return self.deliver_due()

    def collect(self) -> int:
        """Put a notification for every change since the last collect in the outbox."""
        orders.process_due(self.account)
        now = self.account.clock.now()
        seller = self.account.seller_id
        with self.account.store.read() as tx:
            if not tx.connection.execute("SELECT 1 FROM notification_subscriptions").fetchone():
                return 0  # nobody listens: nothing to record either
        with self.account.store.write() as tx:
            subscribed = {
                row[1]: row[0]
                for row in tx.connection.execute(
                    "SELECT subscription_id, notification_type FROM notification_subscriptions"
                )
            }
            events = self._order_events(tx, seller) + self._listing_events(tx, seller, now)
            queued = 0
            for kind, at, payload in events:
                if kind not in subscribed:
                    continue
                due = at + self.delivery_lag()
                body = self._envelope(kind, subscribed[kind], at, due, now, payload)
                _enqueue(tx, kind, subscribed[kind], due, jsonio.dumps(body))
                queued += 1
        return queued

    def deliver_due(self) -> int:
        """Send every due notification to its destination; failures stay queued."""
        if self.sender is None:
            return 0
        now = self.account.clock.now()
        with self.account.store.read() as tx:
            rows = tx.connection.execute(
                "SELECT o.id, d.arn, o.body, o.notification_type, o.subscription_id "
                "FROM notification_outbox o "
                "JOIN notification_subscriptions s ON s.subscription_id = o.subscription_id "
                "JOIN notification_destinations d ON d.destination_id = s.destination_id "
                "WHERE o.due_at <= ? ORDER BY o.due_at, o.id",
                (to_micros(now),),
            ).fetchall()
        by_arn: dict[str, list[tuple[int, str, str, str]]] = {}
        for row_id, arn, body, kind, subscription_id in rows:
            by_arn.setdefault(arn, []).append((row_id, body, kind, subscription_id))
        sent = 0
        for arn, items in by_arn.items():
            for start in range(0, len(items), BATCH):
                chunk = items[start : start + BATCH]
                try:
                    self.sender(arn, [item[1] for item in chunk])
                except Exception as err:  # any transport failure: retry on the next tick
                    log.warning("notification delivery to %s failed, will retry: %s", arn, err)
                    break
                with self.account.store.write() as tx:
                    tx.connection.executemany(
                        "DELETE FROM notification_outbox WHERE id = ?",
                        [(item[0],) for item in chunk],
                    )
                    for _, body, kind, subscription_id in chunk:
                        if self.account.timings.notification_duplicated():
                            _enqueue(tx, kind, subscription_id, now + self.delivery_lag(), body)
                sent += len(chunk)
        return sent

    def pending(self) -> int:
        """Notifications queued and not delivered yet."""
        with self.account.store.read() as tx:
            return int(
                tx.connection.execute("SELECT count(*) FROM notification_outbox").fetchone()[0]
            )

    def _envelope(
        self,
        kind: str,
        subscription_id: str,
        at: datetime,
        due: datetime,
        now: datetime,
        payload: Any,
    ) -> dict[str, Any]:
        publish = max(due, now)
        return {
            "NotificationVersion": "1.0",
            "NotificationType": kind,
            "PayloadVersion": PAYLOAD_VERSION,
            "EventTime": iso_ms(at),
            "Payload": payload,
            "NotificationMetadata": {
                "ApplicationId": APPLICATION_ID,
                "SubscriptionId": subscription_id,
                "PublishTime": iso_ms(publish),
                "NotificationId": self._new_id(),
            },
        }

    @staticmethod
    def _order_events(tx: Tx, seller: str) -> list[tuple[str, datetime, Any]]:
        signature = _ORDER_SIGNATURE
        changed = OrderTables(tx).select(
            "NOT EXISTS (SELECT 1 FROM notification_order_state s WHERE "
            f"s.amazon_order_id = orders.amazon_order_id AND s.signature = {signature}) "
            "AND seller_id = ?",
            (seller,),
            "ORDER BY last_update, amazon_order_id",
        )
        events = []
        for order in changed:
            tx.connection.execute(
                "INSERT INTO notification_order_state (amazon_order_id, signature) VALUES (?, ?) "
                "ON CONFLICT(amazon_order_id) DO UPDATE SET signature = excluded.signature",
                (order.amazon_order_id, f"{order.status}:{int(order.buyer_requested_cancel)}"),
            )
            events.append((ORDER_CHANGE, order.updated, order_change(order)))
        return events

    @staticmethod
    def _listing_events(tx: Tx, seller: str, now: datetime) -> list[tuple[str, datetime, Any]]:
        c = tx.connection
        known = {
            (sku, mid): (quantity, status)
            for sku, mid, quantity, status in c.execute(
                "SELECT sku, marketplace_id, quantity, status FROM notification_listing_state"
            )
        }
        mids = [MARKETPLACES[code].marketplace_id for code in _marketplaces(tx)]
        severities = tx.issue_severities(seller)
        events: list[tuple[str, datetime, Any]] = []
        seen = set()
        for listing in tx.listings(seller, mids):
            key = (listing.sku, listing.marketplace_id)
            seen.add(key)
            issues = tx.issues(seller, *key) if "ERROR" in severities.get(key, ()) else []
            status = listings.statuses(listing, issues)
            quantity = (
                None
                if listings.is_fba(listing.attributes)
                else (listings.mfn_quantity(listing.attributes))
            )
            now_state = (quantity, ",".join(status))
            before = known.get(key)
            if before == now_state:
                continue
            c.execute(
                "INSERT INTO notification_listing_state (sku, marketplace_id, quantity, status) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(sku, marketplace_id) DO UPDATE SET "
                "quantity = excluded.quantity, status = excluded.status",
                (*key, *now_state),
            )
            if before is None:
                continue  # first look: nothing changed yet
            at = listing.updated_at
            if quantity is not None and before[0] != quantity:
                events.append(
                    (QUANTITY_CHANGE, at, _quantity_change(seller, listing.sku, quantity))
                )
            if before[1] != now_state[1]:
                payload = _status_change(seller, listing.marketplace_id, listing.sku, status)
                payload["Asin"] = listing.asin
                payload["CreatedDate"] = iso_ms(listing.created_at)
                events.append((STATUS_CHANGE, at, payload))
        for key in set(known) - seen:
            c.execute(
                "DELETE FROM notification_listing_state WHERE sku = ? AND marketplace_id = ?", key
            )
            events.append((STATUS_CHANGE, now, _status_change(seller, key[1], key[0], ["DELETED"])))
        return events


def _enqueue(tx: Tx, kind: str, subscription_id: str, due: datetime, body: str) -> None:
    tx.connection.execute(
        "INSERT INTO notification_outbox (notification_type, subscription_id, due_at, body) "
        "VALUES (?, ?, ?, ?)",
        (kind, subscription_id, to_micros(due), body),
    )


def _marketplaces(tx: Tx) -> list[str]:
    return list(jsonio.loads(tx.meta("marketplaces") or "[]"))


def order_change(order: Order) -> dict[str, Any]:
    """The ORDER_CHANGE payload of an order as it is now (no prices: Amazon sends none)."""
    shipped = order.units if order.status == SHIPPED else 0
    unshipped = order.units if order.status in (PENDING, UNSHIPPED) else 0
    if order.buyer_requested_cancel:
        change_type, reason = "BuyerRequestedChange", "Buyer Requested Cancel"
    else:
        change_type, reason = "OrderStatusChange", f"Order status changed to {order.status}"
    items = []
    for item in order.items:
        line: dict[str, Any] = {
            "OrderItemId": item.order_item_id,
            "SellerSKU": item.sku,
            "SupplySourceId": None,
            "Quantity": item.quantity,
            "QuantityShipped": item.quantity if order.status == SHIPPED else 0,
            "IsBuyerRequestedCancel": order.buyer_requested_cancel,
        }
        if order.status in (UNSHIPPED, SHIPPED):
            line["OrderItemStatus"] = order.status
        items.append(line)
    return {
        "OrderChangeNotification": {
            "NotificationLevel": "OrderLevel",
            "SellerId": order.seller_id,
            "AmazonOrderId": order.amazon_order_id,
            "OrderChangeType": change_type,
            "OrderChangeTrigger": {
                "TimeOfOrderChange": iso_ms(order.updated),
                "ChangeReason": reason,
            },
            "Summary": {
                "MarketplaceId": order.marketplace_id,
                "OrderStatus": order.status,
                "PurchaseDate": iso_ms(order.purchase_date),
                "DestinationPostalCode": None,
                "FulfillmentType": order.channel,
                "OrderType": "StandardOrder",
                "NumberOfItemsShipped": shipped,
                "NumberOfItemsUnshipped": unshipped,
                "EarliestShipDate": iso_ms(order.purchase_date),
                "LatestShipDate": iso_ms(order.latest_ship_date),
                "OrderItems": items,
            },
        }
    }


def _quantity_change(seller: str, sku: str, quantity: int) -> dict[str, Any]:
    return {
        "SellerId": seller,
        "FulfillmentChannelCode": "DEFAULT",
        "Sku": sku,
        "Quantity": quantity,
    }


def _status_change(seller: str, marketplace_id: str, sku: str, status: list[str]) -> dict[str, Any]:
    return {"SellerId": seller, "MarketplaceId": marketplace_id, "Sku": sku, "Status": status}


def _check_type(notification_type: str) -> None:
    if notification_type not in NOTIFICATION_TYPES:
        raise invalid_input(
            f"Unsupported notificationType {notification_type!r}: the sandbox publishes "
            + ", ".join(NOTIFICATION_TYPES)
            + "."
        )


def _destination(destination_id: str, name: str, arn: str) -> dict[str, Any]:
    return {"name": name, "destinationId": destination_id, "resource": {"sqs": {"arn": arn}}}


def _subscription_row(tx: Tx, notification_type: str) -> tuple[Any, ...] | None:
    return tx.connection.execute(
        "SELECT subscription_id, payload_version, destination_id, processing_directive "
        "FROM notification_subscriptions WHERE notification_type = ?",
        (notification_type,),
    ).fetchone()


def _subscription(row: tuple[Any, ...]) -> dict[str, Any]:
    subscription_id, version, destination_id, directive = row
    result: dict[str, Any] = {
        "subscriptionId": subscription_id,
        "payloadVersion": version,
        "destinationId": destination_id,
    }
    if directive is not None:
        result["processingDirective"] = jsonio.loads(directive)
    return result
