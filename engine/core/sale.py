"""A sale price: the value of a listing's `sale` field (SP-API's `discounted_price`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class SalePrice:
    """A `discounted_price`: a price that applies between start (inclusive) and end (exclusive)."""

    price: Decimal
    start: datetime
    end: datetime

    def active_at(self, when: datetime) -> bool:
        return self.start <= when < self.end

    def to_dict(self) -> dict[str, str]:
        return {
            "price": f"{self.price:f}",
            "start": _iso(self.start),
            "end": _iso(self.end),
        }

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> SalePrice:
        return cls(Decimal(data["price"]), _parse_iso(data["start"]), _parse_iso(data["end"]))


def _parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
