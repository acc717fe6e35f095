"""The registry of question types: one class per type, names unique, grading per type."""

from __future__ import annotations

import pytest

from lms.learning import questions
from lms.programs.models import QUESTION_TYPES

ANSWERS = [
    {"id": "a1", "text": {"en": "Heat"}, "correct": True},
    {"id": "a2", "text": {"en": "Fuel"}, "correct": True},
    {"id": "a3", "text": {"en": "Noise"}, "correct": False},
]
ONE = [
    {"id": "a1", "text": {"en": "Water"}, "correct": False},
    {"id": "a2", "text": {"en": "CO2"}, "correct": True},
]


def test_every_program_question_type_has_one_class():
    assert set(questions.REGISTRY) == set(QUESTION_TYPES)
    questions.check_registry()
    assert questions.get("single").input_type == "radio"
    assert questions.get("true_false").input_type == "radio"
    assert questions.get("multiple").input_type == "checkbox"
    with pytest.raises(KeyError):
        questions.get("essay")


def test_a_second_type_with_the_same_name_is_refused():
    class Another(questions.SingleChoice):
        pass

    with pytest.raises(ValueError, match="registered twice"):
        questions.register(Another)


def test_grading():
    single, multiple, tf = (questions.get(n) for n in ("single", "multiple", "true_false"))
    assert single.grade(ONE, ["a2"]) and not single.grade(ONE, ["a1"])
    assert not single.grade(ONE, ["a1", "a2"])
    assert multiple.grade(ANSWERS, ["a2", "a1"])
    assert not multiple.grade(ANSWERS, ["a1"])  # a correct one missing
    assert not multiple.grade(ANSWERS, ["a1", "a2", "a3"])  # a wrong one added
    assert tf.grade(ONE, ["a2"]) and not tf.grade(ONE, [])
    assert tf.shuffle is False and single.shuffle and multiple.shuffle


def test_acceptable_choices():
    single, multiple = questions.get("single"), questions.get("multiple")
    assert single.acceptable(["a1"]) and not single.acceptable(["a1", "a2"])
    assert not single.acceptable([])
    assert multiple.acceptable(["a1", "a3"]) and not multiple.acceptable(["a1", "a1"])
