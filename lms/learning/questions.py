"""Question types: one class per type, looked up by name; names are unique at start-up.

A question (``lms.programs.models.Question``) stores its answers as
``[{"id": "a1", "text": {lang: str}, "correct": bool}]``. A type decides how the learner
answers (radio buttons or checkboxes), whether the answers are shuffled per attempt, which
choices are acceptable at all, and whether a set of chosen answer ids is right.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any, ClassVar

from flask_babel import lazy_gettext as _l

from lms.programs.models import QUESTION_TYPES


class QuestionType:
    """The behaviour shared by all types; subclasses set the class attributes."""

    name: ClassVar[str]
    label: ClassVar[Any]  # a lazy translated string
    input_type: ClassVar[str]  # "radio" or "checkbox"
    shuffle: ClassVar[bool] = True
    hint: ClassVar[Any] = None

    @staticmethod
    def correct_ids(answers: Iterable[Mapping[str, Any]]) -> set[str]:
        return {str(a["id"]) for a in answers if a.get("correct")}

    def acceptable(self, chosen_ids: Collection[str]) -> bool:
        """Whether this many choices make sense for the type (a radio sends one)."""
        return len(chosen_ids) >= 1 and len(set(chosen_ids)) == len(chosen_ids)

    def grade(self, answers: list[dict[str, Any]], chosen_ids: Collection[str]) -> bool:
        """Right when exactly the correct answers were chosen."""
        return set(chosen_ids) == self.correct_ids(answers)


class SingleChoice(QuestionType):
    name = "single"
    label = _l("Single choice")
    input_type = "radio"
    hint = _l("Choose one answer.")

    def acceptable(self, chosen_ids: Collection[str]) -> bool:
        return len(chosen_ids) == 1


class MultipleChoice(QuestionType):
    name = "multiple"
    label = _l("Multiple choice")
    input_type = "checkbox"
    hint = _l("Select all that apply.")


class TrueFalse(SingleChoice):
    name = "true_false"
    label = _l("True or false")
    shuffle = False  # "True" stays before "False"
    hint = _l("Choose true or false.")


REGISTRY: dict[str, QuestionType] = {}


def register(cls: type[QuestionType]) -> type[QuestionType]:
    """Add a question type; a second type with the same name is a programming error."""
    if cls.name in REGISTRY:
        raise ValueError(f"question type {cls.name!r} registered twice")
    if cls.input_type not in ("radio", "checkbox"):
        raise ValueError(f"question type {cls.name!r}: unknown input type {cls.input_type!r}")
    REGISTRY[cls.name] = cls()
    return cls


for _cls in (SingleChoice, MultipleChoice, TrueFalse):
    register(_cls)


def check_registry() -> None:
    """Every type the programs domain allows has exactly one class (checked at import)."""
    missing = sorted(set(QUESTION_TYPES) - set(REGISTRY))
    extra = sorted(set(REGISTRY) - set(QUESTION_TYPES))
    if missing or extra:
        raise RuntimeError(f"question types out of step: missing {missing}, unknown {extra}")


check_registry()


def get(name: str) -> QuestionType:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown question type {name!r}") from None
