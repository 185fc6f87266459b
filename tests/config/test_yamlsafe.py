from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.config.errors import Position
from engine.config.parsepool import read_and_validate
from engine.config.yamlsafe import MAX_ALIAS_EXPANSION, YamlProblem, parse_source


def load(text: str):
    return parse_source(text.encode("utf-8"), "f.yaml").data


def test_scalars_resolve_like_yaml_but_money_stays_exact():
    data = load("a: 59.99\nb: 3\nc: yes\nd: ~\ne: '7.10'\nf: 2026-01-01\ng: .nan\nh: 0x1f\n")
    assert data == {
        "a": Decimal("59.99"),
        "b": 3,
        "c": True,
        "d": None,
        "e": "7.10",
        "f": "2026-01-01",
        "g": ".nan",
        "h": 31,
    }
    assert isinstance(data["a"], Decimal)


def test_merge_keys_and_aliases():
    data = load("base: &b {x: 1, y: 2}\nitem:\n  <<: *b\n  y: 3\n")
    assert data["item"] == {"x": 1, "y": 3}


def test_duplicate_key_names_both_lines():
    with pytest.raises(YamlProblem) as err:
        load("a: 1\nb: 2\na: 3\n")
    assert "duplicate key 'a' (first defined on line 1)" in err.value.message
    assert err.value.position == Position(3, 1)


def test_problems_carry_the_path_to_where_they_are():
    with pytest.raises(YamlProblem) as err:
        load("products:\n  - sku: A\n  - sku: B\n    sku: C\n")
    assert err.value.path == ("products", 1, "sku")
    assert err.value.position == Position(4, 5)


def test_alias_expansion_is_bounded():
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]")
    with pytest.raises(YamlProblem, match="billion laughs"):
        load("\n".join(lines))


def test_moderate_alias_use_is_fine():
    text = "a: &a [1, 2, 3]\n" + "".join(f"k{i}: *a\n" for i in range(MAX_ALIAS_EXPANSION // 8))
    assert load(text)["k0"] == [1, 2, 3]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: !!python/object:os.system x\n", "unsupported tag"),
        ("a: *missing\n", "unknown alias"),
        ("a: 1\n---\nb: 2\n", "one YAML document"),
        ("? [a]\n: 1\n", "mapping keys must be plain text"),
        ("a: [1\n", "invalid YAML"),
    ],
)
def test_rejections(text, message):
    with pytest.raises(YamlProblem, match=message):
        load(text)


def test_non_utf8_reports_line_and_column():
    with pytest.raises(YamlProblem) as err:
        parse_source(b"a: 1\nb: caf\xe9\n", "f.yaml")
    assert err.value.position == Position(2, 7)
    assert "not valid UTF-8" in err.value.message


def test_bom_is_accepted_and_empty_file_is_none():
    assert parse_source("\ufeffa: 1\n".encode(), "f.yaml").data == {"a": 1}
    assert parse_source(b"", "f.yaml").data is None


def test_positions_are_found_on_demand():
    src = parse_source(b"products:\n  - sku: A\n    cost:\n      amount: 5\n", "p.yaml")
    assert src.position(("products", 0, "cost", "amount")) == Position(4, 15)
    assert src.key_position(("products", 0, "cost")) == Position(3, 5)
    assert src.position(("products", 3)) == Position(2, 3)  # closest existing parent


@given(
    st.decimals(
        allow_nan=False,
        allow_infinity=False,
        places=4,
        min_value=Decimal("-1e9"),
        max_value=Decimal("1e9"),
    )
)
def test_decimal_text_round_trips_exactly(amount):
    assert load(f"p: {amount:f}\n")["p"] == amount


def test_a_valid_file_releases_its_text_and_positions_come_from_disk(tmp_path):
    path = tmp_path / "products.yaml"
    path.write_text(
        "products:\n  - sku: HP-100\n    product_type: HEADPHONES\n    brand: B\n"
        '    cost: {amount: "1.00", currency: USD}\n    base_price: "5.00"\n'
        "    fulfillment: MFN\n    texts: {en: {title: T}}\n",
        encoding="utf-8",
    )
    source, problems, _ = read_and_validate(path, "products.yaml", "products")
    assert problems == [] and source is not None
    assert source.text is None  # not carried back from a parse worker nor kept
    assert source.position(("products", 0, "base_price")) == Position(6, 17)


def test_a_released_file_edited_since_gives_no_position_rather_than_a_wrong_one(tmp_path):
    path = tmp_path / "fx.yaml"
    fx = 'base_currency: USD\nas_of: "2026-11-20"\nsource: ECB\nrates: {EUR: "0.92"}\n'
    path.write_text(fx)
    source, problems, _ = read_and_validate(path, "fx.yaml", "fx")
    assert problems == [] and source is not None and source.text is None
    path.write_text("# moved down\n" + fx)
    assert source.position(("rates", "EUR")) is None


def test_a_tab_in_indentation_is_named_with_its_line_and_column():
    with pytest.raises(YamlProblem) as err:
        parse_source(b"a:\n  b: 1\n\tc: 2\n", "f.yaml")
    assert err.value.message.startswith("a tab character indents this line: YAML does not")
    assert (err.value.position.line, err.value.position.column) == (3, 1)


def test_a_tab_inside_a_value_is_not_blamed_for_another_error():
    assert parse_source(b'a: "x\ty"\nb: |\n  x\n  \tkept\n', "f.yaml").data == {
        "a": "x\ty",
        "b": "x\n\tkept\n",
    }
    with pytest.raises(YamlProblem) as err:  # the tab line comes after the error
        parse_source(b"a: [1\nb: 2\n\tc: 3\n", "f.yaml")
    assert "tab" not in err.value.message
