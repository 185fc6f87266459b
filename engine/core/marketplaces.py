"""Amazon's marketplaces: the built-in table the config refers to by short code (DE, JP, ...).

Where each value comes from:

- The marketplace id, the SP-API endpoint and the AWS region are python-amazon-sp-api's
  `Marketplaces` enum (sp_api.base.marketplaces), which follows Amazon's table
  (https://developer-docs.amazon.com/sp-api/docs/marketplace-ids) and is what its clients
  are built from anyway: one source instead of a second hand-kept copy.
  tests/core/test_marketplaces.py checks it against Amazon's published ids for every
  marketplace below. NA / EU / FE (`region`) is read from the endpoint's host.
- What the library lacks is ours, in `_OURS`: the ISO country (UK is GB), the default
  currency, the language listings are written in there, the locale SP-API takes as
  issueLocale / language_tag, and the store's domain.

Importing the library costs about 0.3 s (its package loads every API client; measured with
`python -X importtime -c "import sp_api.base.marketplaces"`: 283 ms of 350 ms wall), and
commands that only read the config (validate, render, explain) never need an id or an
endpoint. So it is imported on first use of `marketplace_id`, `endpoint`, `aws_region`,
`region`, `BY_ID` or `REGION_ENDPOINTS`, not when this module is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple


class _Amazon(NamedTuple):
    """A marketplace's values from python-amazon-sp-api."""

    marketplace_id: str
    endpoint: str
    aws_region: str
    region: str  # NA | EU | FE


_REGION_HOST = re.compile(r"^https://sellingpartnerapi-(na|eu|fe)\.amazon\.com$")


@cache
def _amazon(code: str) -> _Amazon:
    from sp_api.base.marketplaces import Marketplaces

    entry = Marketplaces[code]
    # The library switches every endpoint to Amazon's static sandbox when its own AWS_ENV
    # variable says SANDBOX. sellersync points elsewhere only through backend.endpoint and
    # its own sandbox (backend.kind): a stray variable must not send a production config's
    # reads and writes to canned answers. The production host is the same name without
    # "sandbox." (https://developer-docs.amazon.com/sp-api/docs/sp-api-endpoints).
    endpoint = entry.endpoint.replace("://sandbox.", "://", 1)
    match = _REGION_HOST.match(endpoint)
    if match is None:
        raise ValueError(f"python-amazon-sp-api gives {code} an unknown endpoint {endpoint!r}")
    return _Amazon(entry.marketplace_id, endpoint, entry.region, match[1].upper())


@dataclass(frozen=True, slots=True)
class Marketplace:
    code: str
    country: str
    currency: str
    language: str
    locale: str
    domain: str

    @property
    def marketplace_id(self) -> str:
        return _amazon(self.code).marketplace_id

    @property
    def region(self) -> str:
        """NA, EU or FE: the SP-API region serving the marketplace."""
        return _amazon(self.code).region

    @property
    def endpoint(self) -> str:
        """The SP-API endpoint of the marketplace's region."""
        return _amazon(self.code).endpoint

    @property
    def aws_region(self) -> str:
        """The AWS region requests to that endpoint are made for (us-east-1, ...)."""
        return _amazon(self.code).aws_region


MARKETPLACES: dict[str, Marketplace] = {
    m.code: m
    for m in (
        Marketplace("US", "US", "USD", "en", "en_US", "amazon.com"),
        Marketplace("CA", "CA", "CAD", "en", "en_CA", "amazon.ca"),
        Marketplace("MX", "MX", "MXN", "es", "es_MX", "amazon.com.mx"),
        Marketplace("BR", "BR", "BRL", "pt", "pt_BR", "amazon.com.br"),
        Marketplace("UK", "GB", "GBP", "en", "en_GB", "amazon.co.uk"),
        Marketplace("IE", "IE", "EUR", "en", "en_IE", "amazon.ie"),
        Marketplace("DE", "DE", "EUR", "de", "de_DE", "amazon.de"),
        Marketplace("FR", "FR", "EUR", "fr", "fr_FR", "amazon.fr"),
        Marketplace("IT", "IT", "EUR", "it", "it_IT", "amazon.it"),
        Marketplace("ES", "ES", "EUR", "es", "es_ES", "amazon.es"),
        Marketplace("NL", "NL", "EUR", "nl", "nl_NL", "amazon.nl"),
        Marketplace("BE", "BE", "EUR", "fr", "fr_BE", "amazon.com.be"),
        Marketplace("SE", "SE", "SEK", "sv", "sv_SE", "amazon.se"),
        Marketplace("PL", "PL", "PLN", "pl", "pl_PL", "amazon.pl"),
        Marketplace("TR", "TR", "TRY", "tr", "tr_TR", "amazon.com.tr"),
        Marketplace("AE", "AE", "AED", "en", "en_AE", "amazon.ae"),
        Marketplace("SA", "SA", "SAR", "ar", "ar_SA", "amazon.sa"),
        Marketplace("EG", "EG", "EGP", "ar", "ar_EG", "amazon.eg"),
        Marketplace("IN", "IN", "INR", "en", "en_IN", "amazon.in"),
        Marketplace("ZA", "ZA", "ZAR", "en", "en_ZA", "amazon.co.za"),
        Marketplace("JP", "JP", "JPY", "ja", "ja_JP", "amazon.co.jp"),
        Marketplace("AU", "AU", "AUD", "en", "en_AU", "amazon.com.au"),
        Marketplace("SG", "SG", "SGD", "en", "en_SG", "amazon.sg"),
    )
}


# Declared for readers and type checkers; the values come from __getattr__ below.
BY_ID: dict[str, Marketplace]
REGION_ENDPOINTS: dict[str, str]


@cache
def _by_id() -> dict[str, Marketplace]:
    return {m.marketplace_id: m for m in MARKETPLACES.values()}


@cache
def _region_endpoints() -> dict[str, str]:
    return {m.region: m.endpoint for m in MARKETPLACES.values()}


def __getattr__(name: str) -> Any:
    """BY_ID (marketplace by id) and REGION_ENDPOINTS (endpoint by NA / EU / FE), built
    from the library on first use (see the module docstring)."""
    if name == "BY_ID":
        return _by_id()
    if name == "REGION_ENDPOINTS":
        return _region_endpoints()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def lookup(code: str) -> Marketplace | None:
    return MARKETPLACES.get(code)


def did_you_mean(code: str) -> str:
    """A hint for a country code given where a marketplace code belongs, "" for any other
    code: the United Kingdom's marketplace is UK while its ISO 3166-1 country code (what
    warehouses.yaml and order addresses use) is GB, and people type one for the other."""
    for market in MARKETPLACES.values():
        if market.country == code != market.code:
            return (
                f" (did you mean {market.code}? {market.code} is the marketplace code; "
                f"{code} is the ISO country code warehouses.yaml uses)"
            )
    return ""


def fba_channel_code(marketplace: Marketplace) -> str:
    """Amazon's fulfillment network code for FBA stock serving a marketplace."""
    if marketplace.code == "JP":
        return "AMAZON_JP"
    return {"NA": "AMAZON_NA", "EU": "AMAZON_EU", "FE": "AMAZON_FE"}[marketplace.region]
