"""`sync import`: adopt live listings into the config, so that a seller with thousands of
listings on Amazon can start managing them as code.

For each live listing of one marketplace that the config does not describe, import writes

- a product (`products/imported-<M>.yaml`): product type, brand, fulfillment, identifiers,
  the listing's texts under the marketplace's language, `marketplaces: [M]` (adopting a US
  listing must not list it anywhere else), and a base price that the marketplace's price
  rule turns back into the live price where it can;
- an override in `marketplaces/<M>.yaml` for what the rule cannot reproduce: our price,
  list price, minimum and maximum allowed price;
- a sale (`sales/imported-<M>.yaml`) for a live sale that has not ended.

Amazon does not know the unit cost: it is written as 0 with a comment, and the command says
so (price floors built on cost cannot protect the product until it is set).

Every file import creates starts with `# yaml-language-server: $schema=<path>`, the schema
of its kind relative to the file, so that an editor checks and completes it
(engine.flows.schemas): the vendored `schemas/` beside (or inside) the config when there is
one, else `<config>/.schemas/`, which import exports (creating or refreshing it). A file it
only extends keeps its first lines as the seller wrote them.

Nothing is written until the result has been loaded and rendered in a scratch copy of the
config and compared with live, so import-then-plan shows no changes for the imported
listings; any field that would still differ is reported. Existing files are never
overwritten: new files get a free name, and the marketplace file is only extended, through
round-trip YAML that keeps its comments and layout.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from engine.config.discovery import kind_of
from engine.config.errors import ConfigErrors
from engine.config.loader import load_config
from engine.config.model import Config, SkuSelector
from engine.core.changes import field_values
from engine.core.errors import UserError
from engine.core.fields import MANAGED_FIELDS
from engine.core.fileio import write_atomic
from engine.core.money import currency, quantize
from engine.core.progress import NO_PROGRESS, Progress
from engine.core.resource import Resource
from engine.core.sale import SalePrice
from engine.desired.pricing import convert, target_price
from engine.desired.render import render, rule_for
from engine.flows.plan import live_quantities, selected_marketplaces
from engine.flows.schemas import (
    editor_schema_dir,
    ensure_editor_schemas,
    schema_line,
    with_schema_line,
)
from engine.flows.session import live_session

IDENTIFIER_KINDS = ("ean", "upc", "asin")  # what products.schema.json accepts
GLOB_CHARS = frozenset("*?[")


class ImportRefused(UserError):
    """The import would change something it must not, or there is nothing to import."""


@dataclass(frozen=True, slots=True)
class StillDiffers:
    """An imported listing the config cannot reproduce exactly: the managed fields the next
    plan would change (none when it is not rendered at all)."""

    address: str
    fields: tuple[str, ...]

    def describe(self) -> str:
        return f"{self.address}: {', '.join(self.fields) or 'not rendered'}"


@dataclass(frozen=True, slots=True)
class ImportResult:
    skus: tuple[str, ...]
    written: tuple[Path, ...]  # new files
    extended: tuple[Path, ...]  # existing files that got entries added
    differences: tuple[StillDiffers, ...] = field(default=())  # what plan would change
    schema_dir: Path | None = None  # where the written files' schema lines point
    schemas: tuple[Path, ...] = field(default=())  # schema files exported (new or refreshed)


def import_from_live(
    config_dir: Path,
    marketplace: str,
    pattern: str,
    *,
    now: datetime,
    target: Path | None = None,
    refresh: bool = True,
    progress: Progress = NO_PROGRESS,
) -> tuple[ImportResult, Path]:
    """Read the live listings of `marketplace` (reporting the report and detail reads to
    `progress`) and adopt those `pattern` selects (see `import_listings`). Returns what was
    imported and the directory written into."""
    config = load_config(config_dir)
    selected_marketplaces(config, [marketplace])
    with live_session(config, progress=progress) as (backend, _):
        live = backend.read_listings([marketplace], refresh=refresh)
    result = import_listings(config, live.resources(), marketplace, pattern, now, target)
    return result, config.root if target is None else target


def import_listings(
    config: Config,
    live: Mapping[str, Resource],
    marketplace: str,
    pattern: str,
    now: datetime,
    target: Path | None = None,
) -> ImportResult:
    """Adopt the live listings of `marketplace` whose SKU matches `pattern` and that the
    config does not describe, writing into `target` (default: the config directory)."""
    target = config.root if target is None else Path(target)
    adopted = _select(config, live, marketplace, pattern)
    files, extended = _files(config, adopted, marketplace, now, target)
    schema_dir, _ = editor_schema_dir(target)
    for relative in files.keys() - set(extended):
        kind = kind_of(relative)
        if kind is not None:
            line = schema_line(kind, target / relative, schema_dir)
            files[relative] = with_schema_line(files[relative], line)
    differences = _verify(config, files, adopted, live, now)
    for relative, text in files.items():
        write_atomic(target / relative, text)
    _, exported = ensure_editor_schemas(target)
    written = tuple(rel for rel in files if rel not in extended)
    return ImportResult(
        tuple(r.sku for r in adopted),
        written,
        extended,
        differences,
        schema_dir,
        tuple(w.path for w in exported if w.status != "unchanged"),
    )


def _select(
    config: Config, live: Mapping[str, Resource], marketplace: str, pattern: str
) -> list[Resource]:
    if not GLOB_CHARS & set(pattern) and pattern in config.products:
        where = config.products[pattern].at("sku").describe().split(" ")[0]
        raise ImportRefused(
            f"SKU {pattern} is already defined at {where}; import only adopts live listings "
            "the config does not describe"
        )
    selector = SkuSelector.of([pattern])
    adopted = [
        r
        for r in live.values()
        if r.marketplace == marketplace and r.sku not in config.products and selector.matches(r.sku)
    ]
    if not adopted:
        raise ImportRefused(
            f"no live listing in {marketplace} matches {pattern!r} that the config does not "
            "already describe; nothing to import"
        )
    return sorted(adopted, key=lambda r: r.sku)


# ---- building the YAML ----------------------------------------------------------------------


def _yaml() -> YAML:
    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096  # never fold a long title over two lines
    yaml.preserve_quotes = True  # "44.99" stays double-quoted in the seller's file
    return yaml


def _dump(data: Any) -> str:
    out = io.StringIO()
    _yaml().dump(data, out)
    return out.getvalue()


def _amount(value: Decimal) -> DoubleQuotedScalarString:
    return DoubleQuotedScalarString(f"{value:f}")


def _flow(**values: Any) -> CommentedMap:
    mapping = CommentedMap(values)
    mapping.fa.set_flow_style()
    return mapping


def _files(
    config: Config, adopted: list[Resource], code: str, now: datetime, target: Path
) -> tuple[dict[Path, str], tuple[Path, ...]]:
    """relative path -> new text, and which of those paths extend an existing file."""
    products = CommentedSeq()
    overrides: dict[str, CommentedMap] = {}
    sales = CommentedSeq()
    for resource in adopted:
        product, override = _product(config, resource)
        products.append(product)
        if override:
            overrides[resource.sku] = override
        sale = resource.sale
        if sale is not None and sale.end > now:
            sales.append(_sale(code, resource.sku, sale))
    head = f"Imported from the live {code} listings by `sync import`."
    document = CommentedMap(products=products)
    document.yaml_set_start_comment(
        f"{head} Set each product's unit cost:\nAmazon does not know it, so it was written as 0."
    )
    files = {_free_name(target, "products", code): _dump(document)}
    extended: tuple[Path, ...] = ()
    if overrides:
        relative, text, is_extension = _with_overrides(config, target, code, overrides)
        files[relative] = text
        extended = (relative,) if is_extension else ()
    if sales:
        document = CommentedMap(sales=sales)
        document.yaml_set_start_comment(head)
        files[_free_name(target, "sales", code)] = _dump(document)
    return files, extended


def _product(config: Config, r: Resource) -> tuple[CommentedMap, CommentedMap]:
    """The product entry and the marketplace override (empty when the rule suffices)."""
    mkt = config.marketplaces[r.marketplace]
    base_currency = currency(config.project.base_currency)
    texts = CommentedMap(title=r.title or r.sku)
    if r.bullet_points:
        texts["bullet_points"] = CommentedSeq(r.bullet_points)
    if r.description:
        texts["description"] = r.description
    product = CommentedMap(
        sku=r.sku,
        product_type=r.product_type,
        brand=r.brand or config.project.seller_name,
        cost=_flow(
            amount=_amount(quantize(Decimal(0), base_currency)), currency=base_currency.code
        ),
    )
    product.yaml_add_eol_comment("unknown to Amazon: set it", "cost")
    override = CommentedMap()
    bounds = CommentedMap()
    rule = rule_for(r.currency, {**config.project.defaults, **mkt.settings})
    for key, value in (
        ("min_price", r.minimum_seller_allowed_price),
        ("max_price", r.maximum_seller_allowed_price),
    ):
        if value is not None and value != getattr(rule, key):
            bounds[key] = _amount(value)
            rule = replace(rule, **{key: value})
    rate = config.fx.rate(r.currency)

    def in_base(amount: Decimal) -> Decimal:
        """The base-currency amount that converts back to `amount`, where one does."""
        return max(quantize((amount - rule.tax_delta) / rate, base_currency), base_currency.quantum)

    base = in_base(r.our_price)
    product["base_price"] = _amount(base)
    if r.list_price is not None:
        base_list = in_base(r.list_price)
        if convert(base_list, rate, rule) == r.list_price:
            product["list_price"] = _amount(base_list)
        else:
            override["list_price"] = _amount(r.list_price)
    product["fulfillment"] = r.fulfillment_channel
    product["marketplaces"] = _flow_seq([r.marketplace])
    identifiers = {k: v for k, v in r.identifiers if k in IDENTIFIER_KINDS}
    if identifiers:
        product["identifiers"] = _flow(**identifiers)
    product["texts"] = CommentedMap({mkt.info.language: texts})
    if target_price(base, rate, rule).final != r.our_price:
        override["our_price"] = _amount(r.our_price)
    if bounds:
        override["pricing"] = bounds
        bounds.fa.set_flow_style()
    if override:
        override.fa.set_flow_style()
    return product, override


def _flow_seq(items: list[str]) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def _sale(code: str, sku: str, sale: SalePrice) -> CommentedMap:
    view = sale.to_dict()
    return CommentedMap(
        id=f"imported-{code}-{sku}",
        marketplaces=_flow_seq([code]),
        skus=_flow_seq([sku]),
        price=_amount(sale.price),
        start=view["start"],
        end=view["end"],
    )


def _free_name(target: Path, folder: str, code: str) -> Path:
    """`folder/imported-<code>.yaml`, or -2, -3... when taken: never overwrite a file."""
    n = 1
    while True:
        relative = Path(folder) / f"imported-{code}{'' if n == 1 else f'-{n}'}.yaml"
        if not (target / relative).exists():
            return relative
        n += 1


def _with_overrides(
    config: Config, target: Path, code: str, overrides: dict[str, CommentedMap]
) -> tuple[Path, str, bool]:
    """The marketplace file with `overrides` added: (relative path, text, whether it extends
    an existing file). Outside the config directory, an existing file is refused."""
    relative = Path("marketplaces") / f"{code}.yaml"
    source = config.root / relative
    if target.resolve() != config.root.resolve() and (target / relative).exists():
        raise ImportRefused(f"{target / relative} exists; import does not overwrite files")
    if source.exists():
        data = _yaml().load(source.read_text(encoding="utf-8"))
        existing = True
    else:
        data, existing = CommentedMap(marketplace=code), False
    if data.get("overrides") is None:
        data["overrides"] = CommentedMap()
    for sku, values in overrides.items():
        data["overrides"][sku] = values
    return relative, _dump(data), existing and target.resolve() == config.root.resolve()


# ---- checking before writing --------------------------------------------------------------------


def _verify(
    config: Config,
    files: Mapping[Path, str],
    adopted: list[Resource],
    live: Mapping[str, Resource],
    now: datetime,
) -> tuple[StillDiffers, ...]:
    """Load and render the config as it will be, in a scratch copy beside it (relative
    paths such as the stock CSV resolve the same), and name every imported listing that
    would still differ from live."""
    scratch = Path(tempfile.mkdtemp(prefix=".import-", dir=config.root.parent))
    try:
        root = scratch / config.root.name
        shutil.copytree(config.root, root)
        for relative, text in files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        try:
            imported = load_config(root)
        except ConfigErrors as errors:
            lines = [line.replace(str(root), str(config.root)) for line in errors.lines()]
            raise ImportRefused(
                "the imported listings would not make a valid config (nothing was written): "
                + "; ".join(lines)
            ) from None
        desired = render(imported, now, live_quantities(live.values())).resources
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    differences = []
    for resource in adopted:
        want = desired.get(resource.address)
        if want is None:
            differences.append(StillDiffers(resource.address, ()))
            continue
        have = field_values(resource, want)
        pairs = zip(MANAGED_FIELDS, field_values(want), have, strict=True)
        names = [name for name, w, h in pairs if w != h]
        if names:
            differences.append(StillDiffers(resource.address, tuple(names)))
    return tuple(differences)
