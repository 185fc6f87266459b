"""Great-circle distances against values worked out by hand."""

from __future__ import annotations

import math

import pytest

from engine.core.geo import CENTROIDS, EARTH_RADIUS_KM, great_circle_km
from engine.core.marketplaces import MARKETPLACES


def test_one_degree_along_the_equator_is_a_360th_of_the_circumference():
    assert great_circle_km((0, 0), (0, 1)) == pytest.approx(2 * math.pi * EARTH_RADIUS_KM / 360)


def test_equator_to_pole_is_a_quarter_circle_and_distance_is_symmetric():
    assert great_circle_km((0, 30), (90, 0)) == pytest.approx(math.pi * EARTH_RADIUS_KM / 2)
    assert great_circle_km((51.34, 12.37), (40.42, -3.70)) == pytest.approx(
        great_circle_km((40.42, -3.70), (51.34, 12.37))
    )


def test_every_marketplace_country_has_a_centroid():
    assert {m.country for m in MARKETPLACES.values()} <= set(CENTROIDS)
