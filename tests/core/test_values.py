"""lib.core.values: one key, one order and two texts for every parameter value, whatever a table made of it."""

import math

import numpy as np
import pandas as pd
import pytest
import yaml

from lib.core.values import key, number_text, ordered, reader_text, same, sort_key, sweep_text
from lib.config.yamlfile import read_yaml


def test_a_key_keeps_flags_apart_from_numbers_and_merges_what_a_table_changed():
    assert key(True) != key(1) and key(True) != key(1.0) and key(False) != key(0)
    assert key(224) == key(224.0) == key(np.int64(224)) == key(np.float32(224.0))
    assert key(None) == key(math.nan) == key(np.nan) == key(pd.NA)
    assert key(np.bool_(True)) == key(True)
    assert key("1") != key(1) and key("None") != key(None)
    assert len({key(v) for v in [224, 224.0, True, 1, 1.0, None, math.nan, "sgd"]}) == 5


def test_same_is_equality_of_keys():
    assert same(0.1, np.float64(0.1)) and same(None, math.nan) and same(True, np.bool_(True))
    assert not same(True, 1) and not same(0.1, 0.10000001) and not same("adam", "sgd")


def test_the_order_puts_missing_first_then_flags_then_numbers_then_names_as_first_seen():
    values = ["sgd", 0.1, None, True, 1e-3, "adam", False, 224.0, math.nan, 224, "sgd", "adamw"]
    result = ordered(values)
    assert result[:3] == [None, False, True]
    assert result[3:6] == [1e-3, 0.1, 224.0]  # 224 and 224.0 are one value; the first seen stays
    assert result[6:] == ["sgd", "adam", "adamw"]  # the sweep file's order, not the alphabet's


def test_a_series_from_pandas_orders_like_the_plain_values():
    column = pd.Series([0.01, None, 0.001, 224], dtype=object).astype(float)  # None became NaN, 224 became 224.0
    assert [reader_text(v) for v in ordered(column)] == ["None", "0.001", "0.01", "224"]


def test_sort_key_without_a_first_seen_order_sorts_names_alphabetically():
    assert sorted(["sgd", "adam", 2, None, True], key=sort_key) == [None, True, 2, "adam", "sgd"]


@pytest.mark.parametrize("value, sweep, reader", [
    (None, "null", "None"), (math.nan, "null", "None"), (True, "true", "yes"), (np.bool_(False), "false", "no"),
    (0.001, "0.001", "0.001"), (1e-4, "0.0001", "0.0001"), (1e-5, "1e-5", "1e-5"), (224.0, "224", "224"),
    (np.int64(3), "3", "3"),
    (0.1 + 0.2, "0.30000000000000004", "0.30000000000000004"), ("fashion_mnist", "fashion_mnist", "fashion_mnist"),
])
def test_the_two_texts_of_a_value(value, sweep, reader):
    assert sweep_text(value) == sweep and reader_text(value) == reader


def test_sweep_text_reads_back_as_the_same_value_in_a_sweep_file(tmp_path):
    values = [None, True, False, 0.001, 1e-4, 2.5e-7, 224, 1e6, 0.30000000000000004, "sgd"]
    path = tmp_path / "s.yaml"
    path.write_text("".join(f"v{i}: {sweep_text(v)}\n" for i, v in enumerate(values)))
    back = read_yaml(path)
    assert [key(back[f"v{i}"]) for i in range(len(values))] == [key(v) for v in values]
    assert yaml.safe_load("x: true")["x"] is True  # the flags are YAML's own words


def test_short_numbers_never_print_alike_for_unequal_numbers():
    close = [0.1, 0.1000001, 0.10000001, 1e-6, 1.0000001e-6]
    assert len({number_text(v) for v in close}) == len(close)
    assert number_text(1e-06) == "1e-6" and number_text(1e6) == "1e6" and number_text(0.01) == "0.01"

