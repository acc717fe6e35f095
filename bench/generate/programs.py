"""Programs: signed versions with topics and a quiz pool, and who must take them.

Through the programs and compliance services, as an administrator would: the versions are
signed with the same hashes and ledger entries as in the application.
"""

from __future__ import annotations

import sqlalchemy as sa

from bench.generate.accounts import Accounts
from bench.generate.base import PASSWORD
from lms.accounts.models import User
from lms.compliance import services as compliance
from lms.compliance.models import Requirement
from lms.programs import services as programs
from lms.programs.models import Question

ORG_WIDE_EVERY = 6  # every sixth program is required of everyone, the others of a division or two


class Programs(Accounts):
    def programs(self) -> None:
        head = self.s.get(User, self.managers[self.divisions[0]])
        assert head is not None
        kinds = [
            ("fire", "repeated", "self_paced", 12),
            ("fire", "targeted", "instructor_led", 12),
            ("workplace", "repeated", "instructor_led", 6),
            ("fire", "repeated", "cascade", 12),
            ("workplace", "introductory", "self_paced", None),
            ("technical", "targeted", "instructor_led", 24),
            ("fire", "fire_minimum", "instructor_led", 36),
        ]
        self.program_rows = []
        for i in range(self.n_programs):
            category, briefing, mode, months = kinds[i % len(kinds)]
            # required of everyone, or of a division or two (its audience says the same, so
            # that "My training" lists what the compliance matrix expects of the person)
            divisions: list[int] = []
            if i % ORG_WIDE_EVERY != 0:
                k = min(len(self.divisions), 1 if self.rng.random() < 0.7 else 2)
                divisions = self.rng.sample(self.divisions, k=k)
            meta = programs.VersionMeta(
                title={
                    "en": f"Program {i + 1}",
                    "lv": f"Programma {i + 1}",
                    "ru": f"Программа {i + 1}",
                },
                description={"en": "Generated for benchmarks."},
                briefing_type=briefing,
                delivery_mode=mode,
                refresher_months=months,
                certificate_validity_months=months,
                audience_departments=[self.dept_codes[d] for d in divisions],
                audience_job_titles=[],
                languages=["en", "lv", "ru"],
            )
            program = programs.create_program(
                self.s,
                code=f"GEN-{i + 1:03d}",
                category=category,
                meta=meta,
                head_id=head.id,
                actor_id=self.admin_id,
            )
            version = program.versions[0]
            for t in range(self.rng.randint(3, 6)):
                programs.add_topic(
                    self.s,
                    version,
                    title={"en": f"Topic {t + 1}"},
                    body={"en": f"## Topic {t + 1}\n\nKeep exits clear."},
                    minutes=self.rng.choice([15, 20, 30, 45]),
                    kind="lesson",
                    actor_id=None,
                )
            version.quiz = {
                "pass_mark": 70,
                "questions_per_attempt": 5,
                "max_attempts": 3,
                "wait_minutes": 0,
                "time_limit_minutes": 20,
                "show_answers": True,
            }
            for q in range(10):
                version.questions.append(
                    Question(
                        key=f"q{q + 1}",
                        position=q + 1,
                        type="single",
                        text={"en": f"Question {q + 1}?"},
                        answers=[
                            {"id": f"a{j}", "text": {"en": f"Answer {j}"}, "correct": j == 1}
                            for j in range(1, 4)
                        ],
                    )
                )
            self.s.flush()
            programs.submit(self.s, version, self.admin_id)
            programs.sign(self.s, version, head, PASSWORD, "approved")
            self.program_rows.append(program)
            scopes: list[int | None] = [*divisions] or [None]  # None: the whole organisation
            for d in scopes:
                compliance.add_requirement(
                    self.s,
                    program_id=program.id,
                    department_id=d,
                    job_title=None,
                    interval_months=None,
                    actor_id=None,
                )
        self.counts.programs = len(self.program_rows)
        self.s.flush()
        self.progress("programs", 0.05)

    def required(self, program_index: int, dept: int) -> bool:
        if program_index % ORG_WIDE_EVERY == 0:
            return True
        division = self.parent.get(dept) or dept
        reqs = self._req_divisions.get(program_index)
        if reqs is None:
            reqs = self._req_divisions[program_index] = {
                r.department_id
                for r in self.s.execute(
                    sa.select(Requirement).where(
                        Requirement.program_id == self.program_rows[program_index].id
                    )
                ).scalars()
            }
        return division in reqs

    # ----- history --------------------------------------------------------------------------
    #
    # Two passes. ``plan`` decides, person by person, when each required program was taken
    # (on time, early, or late) and groups instructor-led trainings into buckets of a few
    # weeks per program (per department for cascade briefings), sized so that a session holds
    # about 15-25 people. ``build`` then walks the sessions and self-paced attempts in date
    # order and writes rows; the ledger is chained at the end in time order.
