"""Country centroids and great-circle distances, for routing orders to the nearest warehouse.

The centroid table is data, not code: for each country an Amazon marketplace ships to
(every marketplace country, and the neighbours buyers order from across the border), the
latitude and longitude of its geographic centre, in degrees. Values from Google's DSPL
canonical "countries.csv" dataset (developers.google.com/public-data/docs/canonical/
countries_csv), as published. A centroid is an approximation of where a country's buyers
live: good enough to tell Leipzig from Columbus, not to pick between two German sites.

Distances use the haversine formula on a sphere of Earth's mean radius (IUGG: 6371.0088 km);
floats are fine here, nothing is money.
"""

from __future__ import annotations

import math

from engine.core.marketplaces import MARKETPLACES

EARTH_RADIUS_KM = 6371.0088

# ISO 3166-1 alpha-2 code: (latitude, longitude)
CENTROIDS: dict[str, tuple[float, float]] = {
    "AE": (23.424076, 53.847818),
    "AT": (47.516231, 14.550072),
    "AU": (-25.274398, 133.775136),
    "BE": (50.503887, 4.469936),
    "BG": (42.733883, 25.48583),
    "BR": (-14.235004, -51.92528),
    "CA": (56.130366, -106.346771),
    "CH": (46.818188, 8.227512),
    "CN": (35.86166, 104.195397),
    "CY": (35.126413, 33.429859),
    "CZ": (49.817492, 15.472962),
    "DE": (51.165691, 10.451526),
    "DK": (56.26392, 9.501785),
    "EE": (58.595272, 25.013607),
    "EG": (26.820553, 30.802498),
    "ES": (40.463667, -3.74922),
    "FI": (61.92411, 25.748151),
    "FR": (46.227638, 2.213749),
    "GB": (55.378051, -3.435973),
    "GR": (39.074208, 21.824312),
    "HR": (45.1, 15.2),
    "HU": (47.162494, 19.503304),
    "IE": (53.41291, -8.24389),
    "IN": (20.593684, 78.96288),
    "IT": (41.87194, 12.56738),
    "JP": (36.204824, 138.252924),
    "KR": (35.907757, 127.766922),
    "LI": (47.166, 9.555373),
    "LT": (55.169438, 23.881275),
    "LU": (49.815273, 6.129583),
    "LV": (56.879635, 24.603189),
    "MC": (43.750298, 7.412841),
    "MT": (35.937496, 14.375416),
    "MX": (23.634501, -102.552784),
    "NL": (52.132633, 5.291266),
    "NO": (60.472024, 8.468946),
    "NZ": (-40.900557, 174.885971),
    "PL": (51.919438, 19.145136),
    "PR": (18.220833, -66.590149),
    "PT": (39.399872, -8.224454),
    "RO": (45.943161, 24.96676),
    "SA": (23.885942, 45.079162),
    "SE": (60.128161, 18.643501),
    "SG": (1.352083, 103.819836),
    "SI": (46.151241, 14.995463),
    "SK": (48.669026, 19.699024),
    "SM": (43.94236, 12.457777),
    "TR": (38.963745, 35.243322),
    "US": (37.09024, -95.712891),
    "VA": (41.902916, 12.453389),
    "ZA": (-30.559482, 22.937506),
}


def great_circle_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance between two (latitude, longitude) points in degrees, in kilometres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def did_you_mean(code: str) -> str:
    """A hint for a marketplace code given where an ISO 3166-1 country code belongs, "" for
    any other code: warehouses ship to GB, the country whose Amazon marketplace is UK."""
    market = MARKETPLACES.get(code)
    if market is None or market.country == code or market.country not in CENTROIDS:
        return ""
    return (
        f" (did you mean {market.country}? countries are ISO 3166-1 codes; {code} is the "
        "marketplace code)"
    )
