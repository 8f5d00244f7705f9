"""The data curve's statistics: sizes, the saturating fit, the extrapolation, the verdict."""

from __future__ import annotations

import numpy as np
import pytest

from advisor.errors import AdvisorError
from advisor.evaluation.data_curve import (
    FLAT_GAIN,
    analyse_curve,
    check_fractions,
    curve_sizes,
    describe_curve,
    fit_curve,
)


def items(mean: float, n: int = 40, wobble: float = 0.1) -> np.ndarray:
    """``n`` per-item scores in [0, 1] whose mean is exactly ``mean`` (alternating +-)."""
    signs = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    return mean + wobble * signs


def test_sizes_are_the_chapters_quarters_halves_and_whole():
    assert curve_sizes(168) == [42, 84, 168]


def test_the_smallest_point_is_raised_to_25_examples():
    assert curve_sizes(80) == [25, 40, 80]


def test_a_split_too_small_for_three_points_says_how_many_are_needed():
    with pytest.raises(AdvisorError, match=r"training split has 50 .* about 63 or more"):
        curve_sizes(50)
    curve_sizes(63)  # the number it names is enough


@pytest.mark.parametrize(
    "fractions, message",
    [((0.25, 0.5), "at least three"), ((0.0, 0.5, 1.0), r"in \(0, 1\]"), ((0.5, 1, 2), "2")],
)
def test_bad_fractions_name_what_is_allowed(fractions, message):
    with pytest.raises(ValueError, match=message):
        check_fractions(fractions)


def test_the_fit_recovers_a_saturating_curve():
    # a=0.3, b=0.2, r=0.5: 0.3, 0.5, 0.6 at 0, 1, 2 doublings
    a, b, r = fit_curve([0.0, 1.0, 2.0], np.array([[0.3, 0.5, 0.6]]))
    assert (a[0], b[0], r[0]) == pytest.approx((0.3, 0.2, 0.5), abs=1e-9)


def test_the_fit_reads_an_accelerating_curve_as_a_log_curve():
    # gains 0.05 then 0.15: r would be 3; held at 1 (each doubling adds the same)
    a, b, r = fit_curve([0.0, 1.0, 2.0], np.array([[0.3, 0.35, 0.5]]))
    assert r[0] == 1.0 and b[0] == pytest.approx(0.1)


def sig(z: float) -> float:
    return 1.0 / (1.0 + np.exp(-z))


def test_doubling_is_predicted_from_the_fit_and_the_aim_is_where_it_levels_off():
    # log-odds -1, 0, 0.5 (a=-1, b=1, r=0.5): the next doubling reaches 0.75 in log-odds;
    # the one after adds 0.027 (>= FLAT_GAIN), then 0.013 (< FLAT_GAIN): aim at 4x the data
    means = [sig(-1.0), sig(0.0), sig(0.5)]
    curve = analyse_curve([40, 80, 160], [items(m) for m in means])
    assert curve["fit"]["scale"] == "logit"
    assert (curve["fit"]["a"], curve["fit"]["b"], curve["fit"]["r"]) == pytest.approx(
        (-1.0, 1.0, 0.5)
    )
    d = curve["doubling"]
    assert d["n_train"] == 320
    assert d["predicted"] == pytest.approx(sig(0.75))
    assert d["gain"] == pytest.approx(sig(0.75) - sig(0.5))
    assert d["predicted_ci95"][0] <= d["predicted"] <= d["predicted_ci95"][1]
    assert d["gain_ci95"][0] > 0  # every resample still rises
    assert curve["verdict"] == "rising"
    assert curve["first_to_last"]["significant"]
    assert curve["first_to_last"]["diff"] == pytest.approx(sig(0.5) - sig(-1.0))
    assert curve["aim_examples"] == 640 and not curve["aim_capped"]
    for p, mean in zip(curve["points"], means, strict=True):
        assert p["mean"] == pytest.approx(mean)
        assert p["ci95"][0] < mean < p["ci95"][1]


def test_a_curve_near_the_ceiling_is_predicted_below_1_with_an_interval():
    # a straight line in raw scores would pass 1.0 at the next doubling (0.19, 0.55, 0.86:
    # the form sample's real curve); in log-odds it stays below, with a real interval
    curve = analyse_curve([42, 84, 168], [items(0.19), items(0.55), items(0.865)])
    lo, hi = curve["doubling"]["predicted_ci95"]
    assert 0.865 < curve["doubling"]["predicted"] < 1.0
    assert lo < hi < 1.0


def test_a_flat_curve_predicts_no_gain_and_sets_no_target():
    same = items(0.55)
    curve = analyse_curve([42, 84, 168], [same, same, same])
    assert curve["verdict"] == "flat"
    assert curve["doubling"]["gain"] == pytest.approx(0.0)
    assert curve["aim_examples"] is None
    assert "Verdict: flat" in describe_curve(curve, "field_accuracy", "lora")[-1]


def test_a_rise_that_levels_off_is_saturating_not_rising():
    curve = analyse_curve([42, 84, 168], [items(0.3), items(0.6), items(0.605)])
    assert curve["first_to_last"]["significant"]
    assert curve["doubling"]["gain"] < FLAT_GAIN
    assert curve["verdict"] == "saturating"


def test_a_curve_that_falls_says_so():
    curve = analyse_curve([42, 84, 168], [items(0.7), items(0.6), items(0.5)])
    assert curve["verdict"] == "falling"


def test_noise_is_not_a_rise():
    rng = np.random.default_rng(0)
    noisy = [np.clip(rng.normal(0.5, 0.3, 30), 0, 1) for _ in range(3)]
    curve = analyse_curve([42, 84, 168], noisy)
    assert not curve["first_to_last"]["significant"]
    assert curve["verdict"] in ("flat", "unclear")


def test_each_point_is_compared_with_the_prompting_baseline():
    baseline = items(0.5)
    curve = analyse_curve([42, 84, 168], [items(0.4), items(0.5), items(0.7)], baseline=baseline)
    vs = [p["vs_baseline"] for p in curve["points"]]
    assert [v["diff"] for v in vs] == pytest.approx([-0.1, 0.0, 0.2])
    assert [v["significant"] for v in vs] == [True, False, True]


def test_points_must_share_their_test_items():
    with pytest.raises(ValueError, match="at least three"):
        analyse_curve([42, 84], [items(0.3), items(0.5)])
