"""The message to a buyer whose order is cancelled after an incident, in the marketplace's
language (Amazon shows buyers the marketplace's language; orders carry no buyer locale).

Rules the texts follow (Amazon's messaging policy, and createUnexpectedProblem's limits):
plain text, no links, no e-mail addresses, no marketing, and never a request for a review or
feedback. They say what happened, that the order is cancelled, and that Amazon refunds any
payment in full.
"""

from __future__ import annotations

from engine.core.marketplaces import MARKETPLACES

TEMPLATES: dict[str, str] = {
    "en": (
        "Hello, we are sorry: your order {order} was sold at a price that was set by mistake, "
        "and we have had to cancel it. Any payment for it is refunded in full by Amazon; you do "
        "not need to do anything. We apologise for the inconvenience. {seller}"
    ),
    "de": (
        "Guten Tag, es tut uns leid: Ihre Bestellung {order} wurde zu einem irrtümlich "
        "eingestellten Preis verkauft, und wir mussten sie stornieren. Eine Zahlung erstattet "
        "Amazon vollständig; Sie müssen nichts tun. Bitte entschuldigen Sie die "
        "Unannehmlichkeiten. {seller}"
    ),
    "fr": (
        "Bonjour, nous sommes désolés : votre commande {order} a été vendue à un prix saisi par "
        "erreur et nous avons dû l'annuler. Tout paiement vous est intégralement remboursé par "
        "Amazon ; vous n'avez rien à faire. Veuillez nous excuser pour ce désagrément. {seller}"
    ),
    "it": (
        "Buongiorno, ci dispiace: il suo ordine {order} è stato venduto a un prezzo impostato "
        "per errore e abbiamo dovuto annullarlo. Qualsiasi pagamento le viene rimborsato "
        "interamente da Amazon; non deve fare nulla. Ci scusiamo per l'inconveniente. {seller}"
    ),
    "es": (
        "Hola, lo sentimos: su pedido {order} se vendió a un precio fijado por error y hemos "
        "tenido que cancelarlo. Amazon le reembolsa íntegramente cualquier pago; no tiene que "
        "hacer nada. Le pedimos disculpas por las molestias. {seller}"
    ),
    "ja": (
        "誠に申し訳ございません。ご注文 {order} は誤って設定された価格で販売されたため、"
        "キャンセルさせていただきました。お支払いはAmazonより全額返金されますので、"
        "お客様のお手続きは不要です。ご迷惑をおかけしましたことを深くお詫び申し上げます。{seller}"
    ),
}
FALLBACK = "en"


def language_of(marketplace: str) -> str:
    """The language of a marketplace's messages (English where we have no text)."""
    language = MARKETPLACES[marketplace].language
    return language if language in TEMPLATES else FALLBACK


def apology(marketplace: str, order_id: str, seller_name: str) -> str:
    return TEMPLATES[language_of(marketplace)].format(order=order_id, seller=seller_name)
