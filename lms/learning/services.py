"""The rules of self-paced learning, by what they concern:

- `assignment`: who is assigned which program, and the errors of this domain;
- `status`: the training status of one program for one person;
- `reading`: reading progress;
- `quizzes`: quiz settings and the state of a person's quiz;
- `attempts`: start, expire, grade and submit attempts; a pass is reported to completions;
- `training`: "My training", everything assigned to a person.

Editing the quiz of a draft: editor.py. Services flush, never commit; broken rules raise a
DomainError a person understands. This module gathers the public names for callers.
"""

from __future__ import annotations

from lms.learning.assignment import (
    AlreadySubmitted,
    NoAttemptsLeft,
    TimeUp,
    Unanswered,
    assigned_programs,
    audience_matches,
    department_codes,
    get_program,
    require_assigned,
)
from lms.learning.attempts import (
    close_expired,
    complete_on_pass,
    get_attempt,
    grant_attempts,
    passed_attempt_id,
    reveal_correct,
    start_attempt,
    submit_attempt,
)
from lms.learning.quizzes import (
    quiz_settings,
    quiz_state,
)
from lms.learning.reading import (
    first_unread,
    get_topic,
    mark_read,
    read_topic_ids,
)
from lms.learning.status import (
    STATES,
    Status,
    training_status,
)
from lms.learning.training import (
    my_training,
)

__all__ = [
    "AlreadySubmitted",
    "NoAttemptsLeft",
    "STATES",
    "Status",
    "TimeUp",
    "Unanswered",
    "assigned_programs",
    "audience_matches",
    "close_expired",
    "complete_on_pass",
    "department_codes",
    "first_unread",
    "get_attempt",
    "get_program",
    "get_topic",
    "grant_attempts",
    "mark_read",
    "my_training",
    "passed_attempt_id",
    "quiz_settings",
    "quiz_state",
    "read_topic_ids",
    "require_assigned",
    "reveal_correct",
    "start_attempt",
    "submit_attempt",
    "training_status",
]
