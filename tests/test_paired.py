"""Tests of attn_helpers.paired: paired differences over seeds and their t-interval."""

import math

import pytest

import attn_helpers as ah


def test_interval_matches_a_hand_computation():
    # d = 100 * (variant - baseline) = (+2, +4, +6): mean 4, sd 2, n 3,
    # t_{0.975, 2} = 4.302652..., half width = 4.302652 * 2 / sqrt(3) = 4.968275
    diff = ah.paired_difference([0.52, 0.54, 0.56], [0.50, 0.50, 0.50])
    assert diff.differences == pytest.approx((2.0, 4.0, 6.0))
    assert diff.mean == pytest.approx(4.0)
    assert diff.low == pytest.approx(4.0 - 4.968275, abs=1e-5)
    assert diff.high == pytest.approx(4.0 + 4.968275, abs=1e-5)
    assert str(diff) == "+4.0 [-1.0, +9.0]"
    assert not diff.significant and diff.n == 3


def test_significant_interval_and_format_of_a_negative_difference():
    diff = ah.paired_difference([0.40, 0.41, 0.39, 0.40], [0.50, 0.50, 0.50, 0.50])
    assert diff.high < 0 and diff.significant
    assert str(diff).startswith("-10.0 [")


def test_pairing_cancels_common_seed_noise():
    # The baseline varies a lot between seeds; the variant is always 3 points better.
    base = [0.60, 0.90, 0.75, 0.82]
    diff = ah.paired_difference([b + 0.03 for b in base], base)
    assert diff.low == pytest.approx(3.0) and diff.high == pytest.approx(3.0) and diff.significant


def test_one_seed_gives_an_unbounded_interval():
    diff = ah.paired_difference([0.9], [0.8])
    assert diff.mean == pytest.approx(10.0) and math.isinf(diff.low) and math.isinf(diff.high)


@pytest.mark.parametrize("variant, baseline, match", [
    ([0.5, 0.6], [0.5], "one score per seed"),
    ([], [], "one score per seed"),
    ([0.5, float("nan")], [0.5, 0.5], "NaN"),
])
def test_bad_inputs_name_the_argument(variant, baseline, match):
    with pytest.raises(ValueError, match=match):
        ah.paired_difference(variant, baseline)


def test_confidence_is_checked():
    with pytest.raises(ValueError, match="confidence"):
        ah.paired_difference([0.5, 0.6], [0.5, 0.5], confidence=1.5)


def test_paired_table_rows():
    table = ah.paired_table({"baseline": [0.5, 0.5, 0.5], "module": [0.52, 0.54, 0.56]}, "baseline")
    lines = table.splitlines()
    assert lines[0].startswith("| model | per seed | mean |")
    assert lines[2] == "| baseline | 0.500 / 0.500 / 0.500 | 0.500 | — |"
    assert lines[3] == "| module | 0.520 / 0.540 / 0.560 | 0.540 | +4.0 [-1.0, +9.0] |"
    with pytest.raises(ValueError, match="baseline"):
        ah.paired_table({"a": [0.5]}, "b")
