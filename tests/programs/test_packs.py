"""Course packs: validation with file/line/field, idempotent import, language gaps."""

from __future__ import annotations

import textwrap

import pytest
import sqlalchemy as sa

from lms.config import ROOT
from lms.extensions import db
from lms.programs.models import Program, ProgramVersion
from lms.programs.packs import PackError, import_pack, load_pack

GOOD = """\
code: TEST-PACK
title: {en: "Test pack", lv: "Testa pakete"}
description: {en: "A pack for tests."}
category: fire
briefing_type: repeated
delivery_mode: self_paced
refresher_months: 12
certificate_validity_months: 12
audience: {departments: [], job_titles: []}
languages: [en, lv]
topics:
  - file: 01-intro
    title: {en: "Intro", lv: "Ievads"}
    minutes: 20
    kind: lesson
quiz:
  pass_mark: 80
  questions_per_attempt: 1
  max_attempts: 3
  wait_minutes: 0
  time_limit_minutes: 10
  show_answers: true
  questions:
    - id: q01
      type: true_false
      text: {en: "Fire needs oxygen.", lv: "Ugunij vajag skābekli."}
      answers:
        - text: {en: "True", lv: "Patiesi"}
          correct: true
        - text: {en: "False", lv: "Nepatiesi"}
          correct: false
"""


def write_pack(tmp_path, yaml_text=GOOD, topics=("01-intro.en.md", "01-intro.lv.md")):
    folder = tmp_path / "pack"
    (folder / "topics").mkdir(parents=True)
    (folder / "program.yaml").write_text(textwrap.dedent(yaml_text), encoding="utf-8")
    for name in topics:
        (folder / "topics" / name).write_text(f"## {name}\n\nText.", encoding="utf-8")
    return folder


def test_import_creates_a_draft_then_nothing_when_unchanged(tmp_path):
    folder = write_pack(tmp_path)
    first = import_pack(db.session, folder)
    db.session.commit()
    assert first.created and first.version.number == 1 and first.version.status == "draft"
    assert first.version.topics[0].body["lv"].startswith("## 01-intro.lv.md")
    assert first.version.questions[0].type == "true_false"
    again = import_pack(db.session, folder)
    db.session.commit()
    assert not again.created
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProgramVersion)) == 1


def test_changed_pack_after_approval_makes_a_new_draft(tmp_path, make_user):
    from lms.programs import services
    from tests.conftest import PASSWORD

    head = make_user("manager")
    folder = write_pack(tmp_path)
    result = import_pack(db.session, folder, head_id=head.id)
    services.submit(db.session, result.version, None)
    services.sign(db.session, result.version, head, PASSWORD, "approved")
    db.session.commit()
    (folder / "topics" / "01-intro.en.md").write_text("## Changed", encoding="utf-8")
    second = import_pack(db.session, folder)
    assert second.created and second.version.number == 2 and second.version.status == "draft"
    assert result.version.topics[0].body["en"].startswith("## 01-intro.en.md")


@pytest.mark.parametrize(
    ("bad", "where", "field"),
    [
        (GOOD.replace("minutes: 20", "minutes: zero"), ":14", "topics[0].minutes"),
        (GOOD.replace("category: fire", "category: water"), ":4", "category"),
        (GOOD.replace("code: TEST-PACK", "code: bad code!"), ":1", "code"),
        (
            GOOD.replace("          correct: true\n", "          correct: false\n"),
            ":28",
            "quiz.questions[0].answers",
        ),
        (
            GOOD.replace("questions_per_attempt: 1", "questions_per_attempt: 5"),
            ":18",
            "quiz.questions_per_attempt",
        ),
        (
            GOOD.replace('title: {en: "Intro", lv: "Ievads"}', 'title: {de: "Intro"}'),
            ":13",
            "topics[0].title",
        ),
        (
            GOOD.replace("  - file: 01-intro\n", "  - file: ../../etc/passwd\n"),
            ":12",
            "topics[0].file",
        ),
        ("code: [unclosed", ":1", "program.yaml"),
    ],
)
def test_malformed_pack_names_file_line_field_and_imports_nothing(tmp_path, bad, where, field):
    folder = write_pack(tmp_path, bad)
    with pytest.raises(PackError) as err:
        import_pack(db.session, folder)
    message = str(err.value)
    assert f"program.yaml{where}" in message, message
    assert field in message
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Program)) == 0


def test_missing_language_file_imports_and_reports_the_gap(tmp_path):
    folder = write_pack(tmp_path, topics=("01-intro.en.md",))
    result = import_pack(db.session, folder)
    assert result.created
    assert result.gaps == ["topics/01-intro.lv.md"]


def test_cli_import_reports_errors_and_success(runner, tmp_path):
    folder = write_pack(tmp_path, GOOD.replace("minutes: 20", "minutes: 9999"))
    result = runner.invoke(args=["lms", "import-course", str(folder)])
    assert result.exit_code != 0
    assert "Nothing imported" in result.output and "topics[0].minutes" in result.output
    folder2 = write_pack(tmp_path / "ok")
    result = runner.invoke(args=["lms", "import-course", str(folder2)])
    assert result.exit_code == 0 and "Imported TEST-PACK as draft version 1" in result.output
    result = runner.invoke(args=["lms", "import-course", str(folder2)])
    assert "content unchanged" in result.output


def test_every_shipped_course_pack_is_valid():
    folders = sorted(p.parent for p in (ROOT / "courses").glob("*/program.yaml"))
    assert len(folders) >= 4
    codes = set()
    for folder in folders:
        pack = load_pack(folder)
        assert pack.code not in codes
        codes.add(pack.code)
        assert not pack.gaps, f"{folder.name} misses {pack.gaps}"
        assert set(pack.meta.languages) == {"en", "lv", "ru"}
        assert len(pack.questions) >= pack.quiz["questions_per_attempt"]
