"""Course packs: a folder with program.yaml and Markdown topics, imported as a draft version.

A malformed pack raises PackError naming the file, the line and the field, and nothing is
imported. Importing content identical to the latest version creates nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import sqlalchemy as sa
import yaml
from flask_babel import gettext as _

from lms.core import audit, texts
from lms.core.errors import DomainError
from lms.programs import services
from lms.programs.models import (
    BRIEFING_TYPES,
    CATEGORIES,
    DELIVERY_MODES,
    QUESTION_TYPES,
    TOPIC_KINDS,
    Program,
    ProgramVersion,
    Question,
    Topic,
)

LANGS = ("lv", "en", "ru")


class PackError(DomainError):
    def __init__(self, file: str, line: int | None, fld: str, message: str):
        self.file, self.line, self.fld = file, line, fld
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {fld}: {message}", field=None)


@dataclass
class Pack:
    path: Path
    code: str
    category: str
    meta: services.VersionMeta
    topics: list[dict[str, Any]]
    quiz: dict[str, Any]
    questions: list[dict[str, Any]]
    gaps: list[str] = field(default_factory=list)  # missing language files, reported not fatal


def _to_python(node, path: str, lines: dict[str, int]):
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out = {}
        for k, v in node.value:
            key = str(k.value)
            out[key] = _to_python(v, f"{path}.{key}" if path else key, lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(v, f"{path}[{i}]", lines) for i, v in enumerate(node.value)]
    return yaml.safe_load(yaml.serialize(node))


class _Reader:
    def __init__(self, file: str, data: Any, lines: dict[str, int]):
        self.file, self.data, self.lines = file, data, lines

    def fail(self, path: str, message: str) -> NoReturn:
        parent = path
        while parent and parent not in self.lines:
            parent = parent.rsplit(".", 1)[0] if "." in parent else ""
        raise PackError(self.file, self.lines.get(parent or "", 1), path, message)

    def get(self, obj: dict, path: str, key: str, required: bool = True):
        full = f"{path}.{key}" if path else key
        if not isinstance(obj, dict):
            self.fail(path, _("expected a mapping"))
        if key not in obj or obj[key] is None:
            if required:
                self.fail(full, _("is required"))
            return None
        return obj[key]

    def text(self, obj: dict, path: str, key: str, required: bool = True) -> dict[str, str]:
        value = self.get(obj, path, key, required)
        full = f"{path}.{key}" if path else key
        if value is None:
            return {}
        if isinstance(value, str):
            return {"en": value}
        if not isinstance(value, dict) or not value:
            self.fail(full, _("expected a text or a mapping of languages to texts"))
        bad = [k for k in value if k not in LANGS]
        if bad:
            self.fail(full, _("unknown language %(lang)s", lang=", ".join(bad)))
        if not all(isinstance(v, str) and v.strip() for v in value.values()):
            self.fail(full, _("every language needs a non-empty text"))
        return {k: v.strip() for k, v in value.items()}

    def choice(self, obj, path, key, allowed) -> str:
        value = self.get(obj, path, key)
        if value not in allowed:
            self.fail(
                f"{path}.{key}" if path else key,
                _("must be one of: %(values)s", values=", ".join(allowed)),
            )
        return value

    def integer(self, obj, path, key, low, high, required=True) -> int | None:
        value = self.get(obj, path, key, required)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not (low <= value <= high):
            self.fail(
                f"{path}.{key}" if path else key,
                _("must be a whole number from %(low)d to %(high)d", low=low, high=high),
            )
        return value


def load_pack(folder: str | Path) -> Pack:
    folder = Path(folder)
    yml = folder / "program.yaml"
    shown = str(yml)
    if not yml.is_file():
        raise PackError(shown, None, "program.yaml", _("file not found"))
    try:
        node = yaml.compose(yml.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise PackError(shown, None, "program.yaml", _("is not UTF-8 text")) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise PackError(
            shown,
            mark.line + 1 if mark else None,
            "program.yaml",
            _("is not valid YAML (%(problem)s)", problem=getattr(err, "problem", err)),
        ) from None
    lines: dict[str, int] = {}
    data = _to_python(node, "", lines) if node is not None else None
    r = _Reader(shown, data, lines)
    if not isinstance(data, dict):
        r.fail("", _("expected a mapping at the top"))

    code = str(r.get(data, "", "code")).strip().upper()
    if not services.CODE_RE.match(code):
        r.fail("code", _("2 to 40 capital letters, digits or dashes"))
    category = r.choice(data, "", "category", CATEGORIES)
    languages = r.get(data, "", "languages", required=False) or ["en"]
    if not isinstance(languages, list) or any(lang not in LANGS for lang in languages):
        r.fail("languages", _("must be a list of: %(values)s", values=", ".join(LANGS)))
    audience = r.get(data, "", "audience", required=False) or {}
    depts = audience.get("departments") or [] if isinstance(audience, dict) else None
    titles = audience.get("job_titles") or [] if isinstance(audience, dict) else None
    if not isinstance(depts, list) or not isinstance(titles, list):
        r.fail("audience", _("expected departments and job_titles lists"))
    meta = services.VersionMeta(
        title=r.text(data, "", "title"),
        description=r.text(data, "", "description", required=False),
        briefing_type=r.choice(data, "", "briefing_type", BRIEFING_TYPES),
        delivery_mode=r.choice(data, "", "delivery_mode", DELIVERY_MODES),
        refresher_months=r.integer(data, "", "refresher_months", 1, 120, required=False),
        certificate_validity_months=r.integer(
            data, "", "certificate_validity_months", 1, 240, required=False
        ),
        audience_departments=[str(d).upper() for d in depts],
        audience_job_titles=[str(t) for t in titles],
        languages=list(languages),
        cascade_levels=r.integer(data, "", "cascade_levels", 1, 5, required=False) or 1,
    )

    topics_raw = r.get(data, "", "topics")
    if not isinstance(topics_raw, list) or not topics_raw:
        r.fail("topics", _("expected a non-empty list"))
    topics, gaps = [], []
    for i, t in enumerate(topics_raw):
        path = f"topics[{i}]"
        fname = str(r.get(t, path, "file"))
        if "/" in fname or "\\" in fname or fname.startswith("."):
            r.fail(f"{path}.file", _("a plain file name is expected"))
        body = {}
        for lang in languages:
            md = folder / "topics" / f"{fname}.{lang}.md"
            if md.is_file():
                try:
                    body[lang] = md.read_text(encoding="utf-8")
                except UnicodeDecodeError:
                    raise PackError(str(md), None, f"{path}.file", _("is not UTF-8 text")) from None
            else:
                gaps.append(str(md.relative_to(folder)))
        if not body:
            r.fail(f"{path}.file", _("no topic file found (topics/%(name)s.<lang>.md)", name=fname))
        topics.append(
            {
                "title": r.text(t, path, "title"),
                "body": body,
                "minutes": r.integer(t, path, "minutes", 1, 600),
                "kind": r.choice(t, path, "kind", TOPIC_KINDS) if t.get("kind") else "lesson",
            }
        )

    quiz_raw = r.get(data, "", "quiz", required=False)
    quiz, questions = {}, []
    if quiz_raw is not None:
        qs = r.get(quiz_raw, "quiz", "questions")
        if not isinstance(qs, list) or not qs:
            r.fail("quiz.questions", _("expected a non-empty list"))
        quiz = {
            "pass_mark": r.integer(quiz_raw, "quiz", "pass_mark", 1, 100),
            "questions_per_attempt": r.integer(
                quiz_raw, "quiz", "questions_per_attempt", 1, len(qs)
            ),
            "max_attempts": r.integer(quiz_raw, "quiz", "max_attempts", 1, 100),
            "wait_minutes": r.integer(quiz_raw, "quiz", "wait_minutes", 0, 100_000, required=False)
            or 0,
            "time_limit_minutes": r.integer(
                quiz_raw, "quiz", "time_limit_minutes", 1, 600, required=False
            ),
            "show_answers": bool(quiz_raw.get("show_answers", True)),
        }
        seen = set()
        for i, q in enumerate(qs):
            path = f"quiz.questions[{i}]"
            key = str(r.get(q, path, "id"))
            if key in seen:
                r.fail(f"{path}.id", _("duplicate question id %(id)s", id=key))
            seen.add(key)
            qtype = r.choice(q, path, "type", QUESTION_TYPES)
            answers_raw = r.get(q, path, "answers")
            if not isinstance(answers_raw, list):
                r.fail(f"{path}.answers", _("expected a list"))
            answers = [
                {
                    "id": f"a{j + 1}",
                    "text": r.text(a, f"{path}.answers[{j}]", "text"),
                    "correct": bool(a.get("correct")),
                }
                for j, a in enumerate(answers_raw)
            ]
            text = r.text(q, path, "text")
            try:
                services.validate_question(qtype, text, answers)
            except DomainError as err:
                r.fail(f"{path}.answers", err.message)
            questions.append({"key": key, "type": qtype, "text": text, "answers": answers})
    return Pack(folder, code, category, meta, topics, quiz, questions, gaps)


@dataclass
class ImportResult:
    program: Program
    version: ProgramVersion | None
    created: bool  # False: identical content, nothing new
    gaps: list[str]


def _fill(version: ProgramVersion, pack: Pack) -> None:
    for key, value in pack.meta.__dict__.items():
        setattr(version, key, value)
    version.quiz = pack.quiz
    version.topics.clear()
    version.questions.clear()
    for i, t in enumerate(pack.topics, start=1):
        version.topics.append(Topic(position=i, **t))
    for i, q in enumerate(pack.questions, start=1):
        version.questions.append(Question(position=i, **q))


def _pack_canonical(pack: Pack, program: Program, number: int) -> dict[str, Any]:
    """The canonical content the pack would have as a version (see services.canonical_content)."""
    m = pack.meta
    return {
        "program": program.code,
        "category": program.category,
        "number": number,
        "title": m.title,
        "description": m.description or {},
        "briefing_type": m.briefing_type,
        "delivery_mode": m.delivery_mode,
        "refresher_months": m.refresher_months,
        "certificate_validity_months": m.certificate_validity_months,
        "audience": {
            "departments": sorted(m.audience_departments),
            "job_titles": sorted(m.audience_job_titles),
        },
        "languages": sorted(m.languages),
        "cascade_levels": m.cascade_levels,
        "topics": [{**t, "attachments": []} for t in pack.topics],
        "quiz": pack.quiz,
        "questions": pack.questions,
    }


def import_pack(
    session, folder: str | Path, *, head_id: int | None = None, actor_id: int | None = None
) -> ImportResult:
    """Validate and import a pack as a draft version (one transaction: all or nothing)."""
    pack = load_pack(folder)
    source = pack.path.name
    program = session.execute(sa.select(Program).where(Program.code == pack.code)).scalar()
    if program is None:
        program = services.create_program(
            session,
            code=pack.code,
            category=pack.category,
            meta=pack.meta,
            head_id=head_id,
            actor_id=actor_id,
            source=source,
        )
        version = program.versions[0]
        _fill(version, pack)
        session.flush()
        audit.record(
            session,
            actor_id,
            "import",
            "program_version",
            version.id,
            texts.stored("programs.version", code=pack.code, n=1),
            source=source,
            gaps=pack.gaps,
        )
        return ImportResult(program, version, True, pack.gaps)

    latest = services.latest_version(session, program)
    assert latest is not None  # a program is created with its first version
    same = _pack_canonical(pack, program, latest.number) == services.canonical_content(latest)
    if same:
        return ImportResult(program, None, False, pack.gaps)
    if latest.status == "submitted":
        raise DomainError(
            _(
                "Version %(n)d of %(code)s awaits signature; decide it before "
                "importing new content.",
                n=latest.number,
                code=program.code,
            )
        )
    if latest.status == "draft":
        version = latest
    else:
        version = ProgramVersion(
            program_id=program.id,
            number=latest.number + 1,
            status="draft",
            title={},
            briefing_type=pack.meta.briefing_type,
            delivery_mode=pack.meta.delivery_mode,
            created_by_id=actor_id,
            based_on_id=latest.id,
        )
        session.add(version)
    version.source = source
    _fill(version, pack)
    session.flush()
    audit.record(
        session,
        actor_id,
        "import",
        "program_version",
        version.id,
        texts.stored("programs.version", code=pack.code, n=version.number),
        source=source,
        gaps=pack.gaps,
    )
    return ImportResult(program, version, True, pack.gaps)
