"""Fixtures shared with other rooms' tests."""

from tests.exams.conftest import exam_setup  # noqa: F401  (the exam fixture, shared)
