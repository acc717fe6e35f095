"""Accounts: a department tree and thousands of people in every role."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from bench.generate.base import PASSWORD, Plumbing
from bench.generate.rows import row
from lms.accounts.models import Department, User, UserRole
from lms.accounts.services import hash_secret
from lms.core.model import utcnow
from lms.core.textsearch import search_key

JOB_TITLES = [
    "Welder",
    "Fitter",
    "Lathe operator",
    "Storekeeper",
    "Forklift driver",
    "Driver",
    "Dispatcher",
    "Accountant",
    "Sales representative",
    "Quality inspector",
    "Electrician",
    "Maintenance technician",
    "Production planner",
    "Cleaner",
    "Cook",
    "Security guard",
    "Engineer",
    "HR specialist",
    "Receptionist",
    "Picker",
]
FIRST = [
    "Jānis",
    "Anna",
    "Andris",
    "Līga",
    "Sergejs",
    "Olga",
    "Kārlis",
    "Ieva",
    "Dmitrijs",
    "Inese",
    "Toms",
    "Marina",
    "Edgars",
    "Zane",
    "Pāvels",
    "Ilze",
    "Rihards",
    "Natalja",
]
LAST = [
    "Bērziņš",
    "Kalniņa",
    "Ozols",
    "Liepiņa",
    "Ivanovs",
    "Petrova",
    "Krūmiņš",
    "Šulce",
    "Vanags",
    "Jansone",
    "Smirnovs",
    "Kuzņecova",
    "Eglītis",
    "Ābola",
    "Ņikitins",
    "Žagare",
]


class Accounts(Plumbing):
    def organisation(self) -> None:
        n_units = max(6, self.n_employees // 40)
        divisions = max(3, n_units // 12)
        depts = []
        now = utcnow()
        for i in range(divisions):
            depts.append(
                row(
                    Department,
                    id=self.new_id(Department),
                    name=f"Division {i + 1}",
                    code=f"G-DIV{i + 1:03d}",
                    parent_id=None,
                    created_at=now,
                )
            )
        for i in range(n_units):
            parent = depts[i % divisions]["id"]
            depts.append(
                row(
                    Department,
                    id=self.new_id(Department),
                    name=f"Unit {i + 1}",
                    code=f"G-U{i + 1:04d}",
                    parent_id=parent,
                    created_at=now,
                )
            )
        self.insert(Department, depts)
        self.divisions = [d["id"] for d in depts[:divisions]]
        self.units = [d["id"] for d in depts[divisions:]]
        self.parent = {d["id"]: d["parent_id"] for d in depts}
        self.dept_codes = {d["id"]: d["code"] for d in depts}
        self.counts.departments = len(depts)

        pw = hash_secret(PASSWORD)
        users: list[dict[str, Any]] = []
        roles: list[dict[str, Any]] = []
        self.people: list[dict[str, Any]] = []
        self.managers: dict[int, int] = {}
        self.instructors: list[int] = []

        def person(role: str, dept: int, title: str) -> dict[str, Any]:
            uid = self.new_id(User)
            start = self.start - timedelta(days=self.rng.randint(0, 1500))
            if self.rng.random() < 0.15:
                start = self.today - timedelta(days=self.rng.randint(0, 365 * self.years))
            user = row(
                User,
                id=uid,
                email=f"{role}{uid}@bench.brigade.test",
                name=f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}",
                job_title=title,
                department_id=dept,
                password_hash=pw,
                locale=self.rng.choice(["lv", "ru", "en"]),
                start_date=start,
                calendar_token=secrets.token_urlsafe(24),
                created_at=now,
            )
            users.append(user)
            roles.append(row(UserRole, user_id=uid, role=role))
            return user

        admin = person("admin", self.divisions[0], "System administrator")
        admin["email"] = "admin@bench.brigade.test"
        for _ in range(3):
            person("auditor", self.divisions[0], "Auditor")
        for _ in range(max(3, self.n_employees // 250)):
            self.instructors.append(
                person("instructor", self.divisions[0], "Safety specialist")["id"]
            )
        for unit in self.units:
            m = person("manager", unit, "Unit manager")
            self.managers[unit] = m["id"]
            self.people.append(m)
        for d in self.divisions:
            self.managers[d] = person("manager", d, "Division head")["id"]
        while len(self.people) < self.n_employees:
            self.people.append(
                person("employee", self.rng.choice(self.units), self.rng.choice(JOB_TITLES))
            )
        for user in users:  # what the flush event keeps for people saved one by one
            user["search_text"] = search_key(user["name"], user["patronymic"], user["email"])
        self.insert(User, users)
        self.insert(UserRole, roles)
        for dept_id, manager_id in self.managers.items():
            self.s.execute(
                sa.update(Department).where(Department.id == dept_id).values(manager_id=manager_id)
            )
        self.admin_id = admin["id"]
        self.counts.people = len(users)
        self.s.flush()
        self.progress("people", 0.02)
