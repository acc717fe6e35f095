"""Learning: self-paced courses taken with a quiz (some fail once, then pass)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from bench.generate.completions import Completions
from bench.generate.rows import row
from lms.learning.models import Attempt, AttemptQuestion


class Learning(Completions):
    def self_paced(self, event: dict[str, Any]) -> None:
        person, p = event["person"], self.program_rows[event["pi"]]
        v, uid, day = self.current(p), event["person"]["id"], event["day"]
        attempt_id = None
        tries = 2 if self.rng.random() < 0.12 else 1  # some fail once, then pass
        for t in range(tries):
            passed = t == tries - 1
            attempt_id = self.new_id(Attempt)
            started = datetime.combine(day, time(10 + t, 0), UTC)
            number = self.attempt_numbers.get((uid, p.id), 0) + 1
            self.attempt_numbers[(uid, p.id)] = number
            correct = 4 if passed else 2
            self.buf[Attempt].append(
                row(
                    Attempt,
                    id=attempt_id,
                    user_id=uid,
                    program_id=p.id,
                    version_id=v.id,
                    number=number,
                    state="submitted",
                    started_at=started,
                    deadline_at=started + timedelta(minutes=20),
                    finished_at=started + timedelta(minutes=12),
                    question_count=5,
                    correct_count=correct,
                    score_percent=correct * 20,
                    pass_mark=70,
                    passed=passed,
                )
            )
            for pos, qid in enumerate(self.rng.sample(self.questions[p.id], 5), start=1):
                ok = pos <= correct
                self.buf[AttemptQuestion].append(
                    row(
                        AttemptQuestion,
                        id=self.new_id(AttemptQuestion),
                        attempt_id=attempt_id,
                        position=pos,
                        question_id=qid,
                        answer_order=["a1", "a2", "a3"],
                        chosen=["a1"] if ok else ["a2"],
                        correct=ok,
                    )
                )
        at = datetime.combine(day, time(10 + tries - 1, 12), UTC)
        self.complete(person, p, day, at, earned="quiz", attempt_id=attempt_id)
