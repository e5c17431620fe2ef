"""The safe expression compiler: what an expression may use, and the places its mistakes are reported at."""

import math

import pytest

from dreamvideo.errors import DreamError
from dreamvideo.expressions import EvaluationProblem, SyntaxProblem, compile_expression
from dreamvideo.schedules import as_schedule


@pytest.mark.parametrize("text, expected", [
    ("2 + 3 * 2 ** 2", 14.0),
    ("-2**2", -4.0),
    ("7 % 3", 1.0),
    ("(1 + 2) * -3", -9.0),
    ("+4 / 8", 0.5),
    ("max(1, t, 3) + min(t, 0)", 6.0),
    ("abs(-t) + sqrt(16) + floor(2.7) + ceil(2.2)", 15.0),
    ("exp(0) + log(e) + log(8, 2) + cos(0) + tan(0)", 6.0),
    ("sin(pi / 2) + 1e-3", 1.001),
])
def test_expression_operators_and_functions(text, expected):
    assert as_schedule(f"0:({text})")(6) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["0:(__import__('os'))", "0:(t.__class__)", "0:(open('x'))",
                                  "0:((lambda: 1)())", "0:([1][0])", "0:(t if t else 1)"])
def test_anything_outside_the_whitelist_is_refused(text):
    with pytest.raises(DreamError, match=r"^zoom: .* at character 4 of"):
        as_schedule(text, name="zoom")


@pytest.mark.parametrize("value", ["-" * 3000 + "t", "+".join(["t"] * 5000)])
def test_absurdly_deep_expressions_raise_instead_of_crashing(value):
    with pytest.raises(DreamError, match="^zoom: .*at character 4 of"):
        as_schedule(f"0:({value})", name="zoom")(1)


def test_the_variables_offered_are_the_ones_an_expression_may_use():
    expression = compile_expression("1 + bass * 0.1 + t / 100", variables=("t", "bass"))
    assert expression(t=50, bass=2.0) == pytest.approx(1.7)
    assert expression.evaluate({"t": 0, "bass": 1}) == pytest.approx(1.1)
    assert expression.variables == {"t", "bass"} and expression.constant is None
    with pytest.raises(SyntaxProblem, match="unknown variable 'bass'") as caught:
        compile_expression("1 + bass")
    assert caught.value.hint == "use t (the frame number), pi or e" and caught.value.index == 4


def test_the_hint_for_an_unknown_variable_names_every_variable_offered():
    with pytest.raises(SyntaxProblem) as caught:
        compile_expression("treble", variables={"t": "the frame number", "beat": "1 on a beat"}, offset=3)
    assert caught.value.hint == "use t (the frame number), beat (1 on a beat), pi or e"
    assert caught.value.index == 3


def test_an_expression_without_variables_is_folded_to_its_value():
    expression = compile_expression("  2 ** 3 + pi", offset=10)
    assert expression.constant == pytest.approx(8 + math.pi) and expression.variables == frozenset()
    assert expression.index == 12 and expression.text == "2 ** 3 + pi"
    with pytest.raises(SyntaxProblem, match="division by zero") as caught:
        compile_expression("1/0", offset=5)
    assert caught.value.index == 5


def test_a_value_out_of_the_domain_is_an_evaluation_problem():
    with pytest.raises(EvaluationProblem, match="cannot be evaluated"):
        compile_expression("log(t)")(t=-1)
    with pytest.raises(EvaluationProblem, match="keep values finite"):
        compile_expression("t * 1e308 * 10")(t=1e10)
