import math
import pickle

import numpy as np
import pytest

from dreamvideo.errors import DreamError
from dreamvideo.schedules import INTERPOLATIONS, Schedule, as_schedule, per_frame_rate, sample, validate


# --- constants and simple inputs -------------------------------------------------------------------------

@pytest.mark.parametrize("value", [1.02, "1.02", " 1.02 ", np.float32(1.02), "cubic: 1.02"])
def test_constants_give_the_same_value_at_every_frame(value):
    schedule = as_schedule(value)
    assert schedule.is_constant
    assert [schedule(frame) for frame in (0, 7, 10_000)] == pytest.approx([1.02] * 3)


def test_int_and_scientific_strings_are_numbers():
    assert as_schedule(3)(5) == 3.0
    assert isinstance(as_schedule(3)(5), float)
    assert as_schedule("-2.5e-3")(0) == -0.0025


def test_equal_keyframes_are_constant_and_differing_ones_are_not():
    assert as_schedule("0:(2), 50:(2)").is_constant
    assert not as_schedule("0:(2), 50:(3)").is_constant
    assert not as_schedule("0:(t)").is_constant
    assert not as_schedule(lambda frame: 1.0).is_constant


def test_an_existing_schedule_is_returned_unchanged():
    schedule = as_schedule("0:(1), 10:(2)", name="zoom")
    assert as_schedule(schedule, name="other") is schedule


@pytest.mark.parametrize("value", [None, [1, 2], True, float("nan"), float("inf"), b"1.0"])
def test_other_values_raise_naming_the_parameter(value):
    with pytest.raises(DreamError, match="^zoom: "):
        as_schedule(value, name="zoom")


def test_unknown_interpolation_keyword_raises():
    with pytest.raises(DreamError, match="zoom: unknown interpolation 'smooth'"):
        as_schedule("0:(1), 10:(2)", name="zoom", interpolation="smooth")


# --- keyframes and interpolation ---------------------------------------------------------------------------

def test_linear_midpoint_and_quarter_point():
    schedule = as_schedule("0:(-2), 100:(4)")
    assert schedule(50) == pytest.approx(1.0)
    assert schedule(25) == pytest.approx(-0.5)
    assert schedule.interpolation == "linear"


def test_values_hold_before_the_first_and_after_the_last_keyframe():
    for interpolation in INTERPOLATIONS:
        schedule = as_schedule("10:(2), 20:(4)", interpolation=interpolation)
        assert schedule(0) == 2.0 and schedule(9) == 2.0
        assert schedule(21) == 4.0 and schedule(500) == 4.0


def test_step_holds_until_the_next_keyframe():
    schedule = as_schedule("0:(1), 10:(3), 20:(-1)", interpolation="step")
    assert [schedule(f) for f in (0, 9, 10, 19, 20)] == [1.0, 1.0, 3.0, 3.0, -1.0]


def test_whitespace_newlines_and_trailing_comma_are_tolerated():
    schedule = as_schedule("  0 : ( 1.0 ) ,\n\t 10:(3.0),  ")
    assert schedule(5) == pytest.approx(2.0)


def test_prefix_in_the_string_wins_over_the_keyword():
    by_prefix = as_schedule("Step: 0:(1), 10:(3)", interpolation="linear")
    assert by_prefix.interpolation == "step"
    assert by_prefix(5) == 1.0
    assert as_schedule("0:(1), 10:(3)", interpolation="step")(5) == 1.0


def test_cubic_passes_through_every_keyframe():
    keyframes = {0: 0.0, 10: 4.0, 30: 5.0, 45: 1.0, 60: 1.5}
    schedule = as_schedule(", ".join(f"{f}:({v})" for f, v in keyframes.items()), interpolation="cubic")
    for frame, value in keyframes.items():
        assert schedule(frame) == pytest.approx(value)


def _one_sided_slopes(schedule, frame, step=1e-4):
    return (schedule(frame) - schedule(frame - step)) / step, (schedule(frame + step) - schedule(frame)) / step


def test_cubic_has_a_continuous_derivative_at_an_interior_keyframe():
    cubic = as_schedule("cubic: 0:(0), 10:(4), 30:(5)")
    left, right = _one_sided_slopes(cubic, 10)
    assert left > 0.05  # a real slope, not a flat spot
    assert left == pytest.approx(right, abs=1e-3)
    # the same keyframes joined linearly have a kink there, which this check detects
    linear_left, linear_right = _one_sided_slopes(as_schedule("0:(0), 10:(4), 30:(5)"), 10)
    assert abs(linear_left - linear_right) > 0.3


def test_cubic_never_overshoots_its_keyframes():
    schedule = as_schedule("cubic: 0:(1), 10:(2), 20:(2), 30:(1), 33:(1.9)")
    values = np.array([schedule(f / 4) for f in range(0, 33 * 4 + 1)])
    assert values.min() >= 1.0 - 1e-12 and values.max() <= 2.0 + 1e-12
    assert np.all(values[40:81] == pytest.approx(2.0))  # flat between the two equal keyframes


def test_cubic_with_two_keyframes_is_smoothstep():
    schedule = as_schedule("cubic: 0:(1), 10:(3)")
    for frame in (1, 2.5, 5, 7, 9):
        u = frame / 10
        assert schedule(frame) == pytest.approx(1 + 2 * (3 * u * u - 2 * u ** 3))


# --- expressions of t -------------------------------------------------------------------------------------

def test_an_expression_keyframe_is_evaluated_at_the_frame_asked_for():
    schedule = as_schedule("0:(1.0 + 0.02*sin(t/10))")
    assert schedule(5) == pytest.approx(1.0 + 0.02 * math.sin(0.5))
    assert schedule(300) == pytest.approx(1.0 + 0.02 * math.sin(30))


def test_interpolation_blends_the_neighbouring_expressions_at_t():
    schedule = as_schedule("0:(t), 10:(2*t)")
    assert schedule(5) == pytest.approx(0.5 * 5 + 0.5 * 10)
    assert schedule(20) == pytest.approx(40.0)  # the last expression keeps running


def test_a_bare_expression_is_the_same_as_one_keyframe():
    assert as_schedule("1 + t/4")(6) == pytest.approx(2.5)


def test_an_expression_that_fails_at_some_frame_names_the_frame_and_position():
    schedule = as_schedule("0:(1), 10:(sqrt(t - 5))", name="zoom")
    assert schedule(10) == pytest.approx(math.sqrt(5))
    with pytest.raises(DreamError, match=r"^zoom: 'sqrt\(t - 5\)' at character 12 cannot be evaluated.* at frame 2$"):
        schedule(2)


# --- callables --------------------------------------------------------------------------------------------

def test_callables_are_wrapped_and_coerced_to_float():
    schedule = as_schedule(lambda frame: np.float32(frame) / 2)
    assert schedule(3) == 1.5 and type(schedule(3)) is float
    assert as_schedule(lambda frame: frame * 2)(4) == 8.0


@pytest.mark.parametrize("function, fragment", [
    (lambda frame: 1 / (frame - 3), "raised ZeroDivisionError at frame 3"),
    (lambda frame: None, "returned None at frame 3, not a number"),
    (lambda frame: "1.5", "returned '1.5' at frame 3, not a number"),
    (lambda frame: [frame], "returned [3] at frame 3, not a number"),
    (lambda frame: float("inf"), "returned inf at frame 3"),
])
def test_callable_failures_name_the_parameter_and_frame(function, fragment):
    schedule = as_schedule(function, name="angle")
    with pytest.raises(DreamError) as caught:
        schedule(3)
    message = str(caught.value)
    assert message.startswith("angle: ") and fragment in message and "\n" not in message


# --- round trips ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "1.02",
    "0:(1.02), 60:(1.05), 119:(1.0)",
    " 0 : (-2.5e-1) ,30:( 1.0 + 0.02*sin(t/10) ),",
    "cubic: 0:(1), 10:(4), 30:(2)",
    "step: 0:(3), 5:(7)",
    "1 + t/100",
])
def test_to_text_round_trips_to_the_same_samples(text):
    schedule = as_schedule(text)
    again = as_schedule(schedule.to_text())
    assert np.array_equal(sample(schedule, 130), sample(again, 130))
    assert again.to_text() == schedule.to_text()
    assert str(schedule) == schedule.to_text()
    assert repr(schedule.to_text()) in repr(schedule)


def test_keyword_interpolation_is_written_as_a_prefix():
    schedule = as_schedule("0:(1), 10:(3)", interpolation="cubic")
    assert schedule.to_text() == "cubic: 0:(1), 10:(3)"
    assert as_schedule(schedule.to_text())(3) == pytest.approx(schedule(3))
    assert schedule(3) != pytest.approx(1.6)  # not linear


def test_a_schedule_survives_pickling_with_its_name_and_interpolation():
    schedule = as_schedule("0:(1), 10:(1 + sin(t)), 20:(3)", name="zoom", interpolation="cubic")
    again = pickle.loads(pickle.dumps(schedule))
    assert (again.name, again.interpolation) == ("zoom", "cubic")
    assert np.array_equal(sample(again, 25), sample(schedule, 25))


def test_a_callable_is_written_frame_by_frame_only_when_asked():
    schedule = as_schedule(lambda frame: 1.0 + frame ** 2 / 1000, name="zoom")
    with pytest.raises(DreamError, match="^zoom: a Python function cannot be written"):
        schedule.to_text()
    baked = as_schedule(schedule.to_text(frames=20))
    assert np.array_equal(sample(baked, 20), sample(schedule, 20))


# --- malformed strings ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, position, fragment", [
    ("", 1, "empty"),
    ("   ", 1, "empty"),
    ("0:(1), 10:(2", 11, "unbalanced parentheses"),
    ("0:(1)), 10:(2)", 6, "unbalanced parentheses"),
    ("0:(sin(t), 10:(2)", 3, "unbalanced parentheses"),
    ("0:(1), 10(2)", 10, "missing ':'"),
    ("0(1.02)", 2, "missing ':'"),
    ("0:(1), 10", 10, "missing ':'"),
    ("0:(1), 10 5:(2)", 11, "expected ':'"),
    ("0:(1), 10:", 11, "missing value"),
    ("0:(1), 10:, 20:(3)", 11, "missing value"),
    ("0:(), 10:(1)", 3, "missing value"),
    ("0:(1), :(2)", 8, "missing frame number"),
    ("0:(1), (2)", 8, "missing frame number"),
    ("0:(1), , 10:(2)", 8, "missing keyframe"),
    ("0:(1) 10:(2)", 7, "missing ','"),
    ("0:1.02", 3, "expected '('"),
    ("0:(abc)", 4, "unknown variable 'abc'"),
    ("0:(1), 10:(1 + x)", 16, "unknown variable 'x'"),
    ("0:(foo(t))", 4, "unknown function 'foo'"),
    ("0:(1.0.2)", 7, "cannot read the value"),
    ("0:(1 +)", 6, "cannot read the value"),
    ("0:(1 ^ 2)", 6, "'^' is not allowed"),
    ("0:(1, 2)", 4, "several values"),
    ("0:(sin(1, 2))", 4, "sin() takes exactly 1 argument"),
    ("0:(1/0)", 4, "division by zero"),
    ("0:('a')", 4, "not a number"),
    ("-5:(1)", 1, "negative frame number"),
    ("0:(1), -5:(1)", 8, "negative frame number"),
    ("0:(1), 2.5:(1)", 8, "whole numbers"),
    ("0:(1), 10:(2), 5:(3)", 16, "must increase"),
    ("0:(1), 10:(2), 10:(3)", 16, "duplicate frame number 10"),
    ("smooth: 0:(1), 10:(2)", 1, "'smooth' is neither an interpolation"),
    ("cubic:", 7, "no keyframes"),
    ("0:(1) x", 7, "unexpected 'x'"),
])
def test_malformed_strings_raise_with_name_and_position(text, position, fragment):
    with pytest.raises(DreamError) as caught:
        as_schedule(text, name="zoom")
    message = str(caught.value)
    assert message.startswith("zoom: ")
    assert f"at character {position} of" in message
    assert fragment in message
    assert "\n" not in message


def test_the_position_counts_characters_in_a_long_string():
    text = ", ".join(f"{f}:(1)" for f in range(0, 400, 10)) + ", 390:(2)"
    with pytest.raises(DreamError, match=f"duplicate frame number 390 at character {text.rindex('390') + 1} of "):
        as_schedule(text, name="zoom")


# --- sample and validate ----------------------------------------------------------------------------------

def test_sample_shape_dtype_and_values():
    values = sample("0:(0), 4:(2)", 6)
    assert values.dtype == np.float64 and values.shape == (6,)
    assert values.tolist() == [0.0, 0.5, 1.0, 1.5, 2.0, 2.0]
    assert sample(1.5, 0).shape == (0,)


@pytest.mark.parametrize("frames", [-1, 2.5, "10", True])
def test_sample_refuses_a_bad_frame_count(frames):
    with pytest.raises(DreamError, match="number of frames"):
        sample("1.0", frames)


def test_validate_finds_the_first_frame_where_zoom_is_not_positive():
    zoom = as_schedule("0:(1.1), 40:(-0.1)", name="zoom")  # crosses 0 between frames 36 and 37
    assert zoom(36) > 0 >= zoom(37)
    with pytest.raises(DreamError, match=r"^zoom must be greater than 0 but is -0\.01 at frame 37 "):
        validate(zoom, 60, strictly_positive=True)
    values = validate(zoom, 37, strictly_positive=True)  # frames 0..36 are fine
    assert values.shape == (37,) and values.dtype == np.float64


def test_validate_bounds_are_inclusive_and_report_the_first_frame():
    blend = as_schedule("0:(0), 10:(1), 20:(1.5)", name="blend")
    assert validate(blend, 11, minimum=0, maximum=1)[-1] == 1.0
    with pytest.raises(DreamError, match=r"^blend must be at most 1 but is 1\.05 at frame 11 "):
        validate(blend, 21, minimum=0, maximum=1)
    with pytest.raises(DreamError, match=r"^blend must be at least 0\.5 but is 0 at frame 0 "):
        validate(blend, 21, minimum=0.5)


def test_validate_integer_rounds_halves_up_and_checks_the_rounded_value():
    steps = validate(as_schedule("0:(2.5), 1:(0.6), 2:(10.49)", name="steps"), 3, minimum=1, integer=True)
    assert steps.dtype == np.int64 and steps.tolist() == [3, 1, 10]
    with pytest.raises(DreamError, match=r"^steps must be at least 1 but is 0 \(rounded from 0\.4\) at frame 1 "):
        validate(as_schedule("0:(2), 1:(0.4)", name="steps"), 2, minimum=1, integer=True)


# --- per_frame_rate ---------------------------------------------------------------------------------------

def test_per_frame_rate_multiplicative_uses_a_power():
    assert per_frame_rate(1.04, 30, 15) == pytest.approx(1.04 ** (30 / 15))
    assert per_frame_rate(1.02, 30, 60) == pytest.approx(1.02 ** 0.5)
    # same magnification per second: 15 frames at the new rate equal 30 at the old
    assert per_frame_rate(1.04, 30, 15) ** 15 == pytest.approx(1.04 ** 30)
    assert per_frame_rate(1.5, 1, 24) ** 24 == pytest.approx(1.5)  # a per-second rate is a rate at 1 fps


def test_per_frame_rate_additive_is_linear():
    assert per_frame_rate(0.5, 30, 15, kind="additive") == pytest.approx(1.0)
    assert per_frame_rate(-3.0, 24, 12, kind="additive") == pytest.approx(-6.0)


@pytest.mark.parametrize("args, kwargs, fragment", [
    ((1.02, 0, 30), {}, "from_fps"),
    ((1.02, 30, -1), {}, "to_fps"),
    ((0.0, 30, 15), {}, "greater than 0"),
    ((float("nan"), 30, 15), {}, "finite"),
    ((1.02, 30, 15), {"kind": "power"}, "unknown kind"),
])
def test_per_frame_rate_refuses_bad_input(args, kwargs, fragment):
    with pytest.raises(DreamError, match=fragment):
        per_frame_rate(*args, **kwargs)


def test_schedule_constructor_accepts_the_same_values_as_as_schedule():
    assert Schedule("0:(0), 10:(5)", name="angle")(4) == pytest.approx(2.0)
