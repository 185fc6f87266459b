"""Amazon's marketplaces: the built-in table the config refers to by short code (DE, JP, ...).

Marketplace ids, regions and default currencies are Amazon's published values
(Selling Partner API, "Marketplace IDs"). Language is the language listings are written
in there; locale is what SP-API takes as issueLocale / language_tag.
"""

from __future__ import annotations

from dataclasses import dataclass

REGION_ENDPOINTS = {
    "NA": "https://sellingpartnerapi-na.amazon.com",
    "EU": "https://sellingpartnerapi-eu.amazon.com",
    "FE": "https://sellingpartnerapi-fe.amazon.com",
}


@dataclass(frozen=True, slots=True)
class Marketplace:
    code: str
    marketplace_id: str
    country: str
    currency: str
    language: str
    locale: str
    region: str
    domain: str


MARKETPLACES: dict[str, Marketplace] = {
    m.code: m
    for m in (
        Marketplace("US", "ATVPDKIKX0DER", "US", "USD", "en", "en_US", "NA", "amazon.com"),
        Marketplace("CA", "A2EUQ1WTGCTBG2", "CA", "CAD", "en", "en_CA", "NA", "amazon.ca"),
        Marketplace("MX", "A1AM78C64UM0Y8", "MX", "MXN", "es", "es_MX", "NA", "amazon.com.mx"),
        Marketplace("BR", "A2Q3Y263D00KWC", "BR", "BRL", "pt", "pt_BR", "NA", "amazon.com.br"),
        Marketplace("UK", "A1F83G8C2ARO7P", "GB", "GBP", "en", "en_GB", "EU", "amazon.co.uk"),
        Marketplace("IE", "A28R8C7NBKEWEA", "IE", "EUR", "en", "en_IE", "EU", "amazon.ie"),
        Marketplace("DE", "A1PA6795UKMFR9", "DE", "EUR", "de", "de_DE", "EU", "amazon.de"),
        Marketplace("FR", "A13V1IB3VIYZZH", "FR", "EUR", "fr", "fr_FR", "EU", "amazon.fr"),
        Marketplace("IT", "APJ6JRA9NG5V4", "IT", "EUR", "it", "it_IT", "EU", "amazon.it"),
        Marketplace("ES", "A1RKKUPIHCS9HS", "ES", "EUR", "es", "es_ES", "EU", "amazon.es"),
        Marketplace("NL", "A1805IZSGTT6HS", "NL", "EUR", "nl", "nl_NL", "EU", "amazon.nl"),
        Marketplace("BE", "AMEN7PMS3EDWL", "BE", "EUR", "fr", "fr_BE", "EU", "amazon.com.be"),
        Marketplace("SE", "A2NODRKZP88ZB9", "SE", "SEK", "sv", "sv_SE", "EU", "amazon.se"),
        Marketplace("PL", "A1C3SOZRARQ6R3", "PL", "PLN", "pl", "pl_PL", "EU", "amazon.pl"),
        Marketplace("TR", "A33AVAJ2PDY3EV", "TR", "TRY", "tr", "tr_TR", "EU", "amazon.com.tr"),
        Marketplace("AE", "A2VIGQ35RCS4UG", "AE", "AED", "en", "en_AE", "EU", "amazon.ae"),
        Marketplace("SA", "A17E79C6D8DWNP", "SA", "SAR", "ar", "ar_SA", "EU", "amazon.sa"),
        Marketplace("EG", "ARBP9OOSHTCHU", "EG", "EGP", "ar", "ar_EG", "EU", "amazon.eg"),
        Marketplace("IN", "A21TJRUUN4KGV", "IN", "INR", "en", "en_IN", "EU", "amazon.in"),
        Marketplace("ZA", "AE08WJ6YKNBMC", "ZA", "ZAR", "en", "en_ZA", "EU", "amazon.co.za"),
        Marketplace("JP", "A1VC38T7YXB528", "JP", "JPY", "ja", "ja_JP", "FE", "amazon.co.jp"),
        Marketplace("AU", "A39IBJ37TRP1C6", "AU", "AUD", "en", "en_AU", "FE", "amazon.com.au"),
        Marketplace("SG", "A19VAU5U5O7RUS", "SG", "SGD", "en", "en_SG", "FE", "amazon.sg"),
    )
}

BY_ID: dict[str, Marketplace] = {m.marketplace_id: m for m in MARKETPLACES.values()}


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
