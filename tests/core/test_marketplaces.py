"""engine.core.marketplaces: ids, endpoints and AWS regions come from python-amazon-sp-api's
Marketplaces enum, the rest from our table; the two must agree for every marketplace we
support, and the library stays unloaded until an id or endpoint is needed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sp_api.base.marketplaces import Marketplaces

from engine.core.marketplaces import (
    BY_ID,
    MARKETPLACES,
    REGION_ENDPOINTS,
    fba_channel_code,
    lookup,
)

# Amazon's published marketplace ids and regions
# (https://developer-docs.amazon.com/sp-api/docs/marketplace-ids): what the library must give.
AMAZON = {
    "CA": ("A2EUQ1WTGCTBG2", "NA"),
    "US": ("ATVPDKIKX0DER", "NA"),
    "MX": ("A1AM78C64UM0Y8", "NA"),
    "BR": ("A2Q3Y263D00KWC", "NA"),
    "IE": ("A28R8C7NBKEWEA", "EU"),
    "ES": ("A1RKKUPIHCS9HS", "EU"),
    "UK": ("A1F83G8C2ARO7P", "EU"),
    "FR": ("A13V1IB3VIYZZH", "EU"),
    "BE": ("AMEN7PMS3EDWL", "EU"),
    "NL": ("A1805IZSGTT6HS", "EU"),
    "DE": ("A1PA6795UKMFR9", "EU"),
    "IT": ("APJ6JRA9NG5V4", "EU"),
    "SE": ("A2NODRKZP88ZB9", "EU"),
    "ZA": ("AE08WJ6YKNBMC", "EU"),
    "PL": ("A1C3SOZRARQ6R3", "EU"),
    "EG": ("ARBP9OOSHTCHU", "EU"),
    "TR": ("A33AVAJ2PDY3EV", "EU"),
    "SA": ("A17E79C6D8DWNP", "EU"),
    "AE": ("A2VIGQ35RCS4UG", "EU"),
    "IN": ("A21TJRUUN4KGV", "EU"),
    "SG": ("A19VAU5U5O7RUS", "FE"),
    "AU": ("A39IBJ37TRP1C6", "FE"),
    "JP": ("A1VC38T7YXB528", "FE"),
}
# https://developer-docs.amazon.com/sp-api/docs/sp-api-endpoints
ENDPOINTS = {
    "NA": ("https://sellingpartnerapi-na.amazon.com", "us-east-1"),
    "EU": ("https://sellingpartnerapi-eu.amazon.com", "eu-west-1"),
    "FE": ("https://sellingpartnerapi-fe.amazon.com", "us-west-2"),
}


@pytest.mark.parametrize("code", sorted(MARKETPLACES))
def test_our_table_agrees_with_the_library_and_amazon(code):
    ours = MARKETPLACES[code]
    library = Marketplaces[code]
    assert (ours.marketplace_id, ours.region) == AMAZON[code]
    assert ours.marketplace_id == library.marketplace_id
    assert (ours.endpoint, ours.aws_region) == ENDPOINTS[ours.region]
    assert (library.endpoint, library.region) == ENDPOINTS[ours.region]
    # Our ISO country names the same marketplace in the library (UK is GB there too).
    assert Marketplaces[ours.country].marketplace_id == ours.marketplace_id
    assert BY_ID[ours.marketplace_id] is ours and lookup(code) is ours


def test_every_marketplace_amazon_publishes_is_supported():
    assert set(MARKETPLACES) == set(AMAZON)
    assert {region: url for region, (url, _) in ENDPOINTS.items()} == REGION_ENDPOINTS
    assert [fba_channel_code(MARKETPLACES[c]) for c in ("US", "DE", "AU", "JP")] == [
        "AMAZON_NA",
        "AMAZON_EU",
        "AMAZON_FE",
        "AMAZON_JP",
    ]


def run_python(script: str, **env: str) -> object:
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    ).stdout
    return json.loads(out.splitlines()[-1])


def test_the_library_is_imported_on_first_use_not_with_the_module():
    loaded = run_python(
        "import json, sys\n"
        "from engine.core.marketplaces import MARKETPLACES\n"
        "before = 'sp_api' in sys.modules\n"
        "MARKETPLACES['DE'].currency\n"
        "between = 'sp_api' in sys.modules\n"
        "MARKETPLACES['DE'].marketplace_id\n"
        "print(json.dumps([before, between, 'sp_api' in sys.modules]))\n"
    )
    assert loaded == [False, False, True]


def test_the_librarys_aws_env_cannot_send_a_config_to_amazons_static_sandbox():
    endpoint = run_python(
        "import json\n"
        "from sp_api.base.marketplaces import Marketplaces\n"
        "from engine.core.marketplaces import MARKETPLACES\n"
        "print(json.dumps([Marketplaces.DE.endpoint, MARKETPLACES['DE'].endpoint]))\n",
        AWS_ENV="SANDBOX",
    )
    assert endpoint == [
        "https://sandbox.sellingpartnerapi-eu.amazon.com",
        "https://sellingpartnerapi-eu.amazon.com",
    ]
