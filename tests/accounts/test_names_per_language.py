"""Departments and job titles carry a name per language, falling back to the default."""

from __future__ import annotations

import sqlalchemy as sa

from lms.accounts.models import Department, User, in_locale
from lms.extensions import db
from tests.conftest import text_of


def test_a_name_in_the_readers_language_else_the_default():
    names = {"lv": "Noliktava", "ru": "Склад"}
    assert in_locale(names, "Warehouse", "lv") == "Noliktava"
    assert in_locale(names, "Warehouse", "ru") == "Склад"
    assert in_locale(names, "Warehouse", "en") == "Warehouse"  # no English name: the default
    assert in_locale(None, "Warehouse", "lv") == "Warehouse"
    assert in_locale({"lv": ""}, "Warehouse", "lv") == "Warehouse"


def test_the_demo_names_departments_and_titles_in_three_languages(client):
    from lms.demo import email_for, load_demo

    load_demo(db.session, password="brigade-demo-pass-1", echo=lambda _m: None)
    db.session.commit()
    wh = db.session.execute(sa.select(Department).where(Department.code == "WH")).scalar_one()
    assert wh.names == {"lv": "Noliktava", "en": "Warehouse", "ru": "Склад"}
    welder = db.session.execute(
        sa.select(User).where(User.email == email_for("employee"))
    ).scalar_one()
    assert welder.job_titles and welder.job_titles["lv"] == "Metinātājs"
    # the person's own page, in Latvian and in Russian
    from tests.core.test_fuzz import _sign_in

    for lang, title, dept in (
        ("lv", "Metinātājs", "Metālapstrādes cehs"),
        ("ru", "Сварщик", "Металлообрабатывающий цех"),
    ):
        welder.locale = lang
        db.session.commit()
        _sign_in(client, "employee")
        page = text_of(client.get(f"/people/{welder.id}/training"))
        assert title in page and dept in page, page[:400]
        assert "Welder" not in page and "Metal workshop" not in page
