"""Self-paced courses: the player, quizzes and attempts; results; the quiz editor of drafts."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from lms.accounts.queries import get_user
from lms.completions.services import valid_completion
from lms.core import nav
from lms.core.clock import local_date, local_today
from lms.core.errors import DomainError
from lms.core.forms import apply_domain_error
from lms.core.http import id_arg, page_arg
from lms.core.i18n import LANGUAGE_NAMES, pick
from lms.core.model import load_or_404, utcnow
from lms.core.pagination import paginate
from lms.core.permissions import requires
from lms.extensions import db
from lms.learning import labels, queries, services
from lms.learning import questions as qtypes
from lms.learning.forms import ConfirmForm, GrantForm, QuestionForm, QuizSettingsForm
from lms.learning.models import Attempt
from lms.programs import labels as program_labels
from lms.programs import queries as program_queries
from lms.programs import quiz as editor
from lms.programs import services as programs

bp = Blueprint("learning", __name__, url_prefix="/learning")

LANG_CODES = ("en", "lv", "ru")


def _lang() -> str:
    return str(get_locale() or "en")


def _page(template: str, status: int = 200, **context):
    context.setdefault("lang", _lang())
    return (
        render_template(
            template,
            pick=pick,
            labels=labels,
            program_labels=program_labels,
            qtypes=qtypes,
            **context,
        ),
        status,
    )


# ----- My training and the course player ------------------------------------------------------


@bp.route("/")
@requires("learning.take")
def my_training():
    items = services.my_training(db.session, current_user, utcnow())
    return _page("learning/my_training.html", items=items, today=local_today())


@bp.route("/programs/<int:program_id>")
@requires("learning.take")
def course(program_id: int):
    program = services.get_program(db.session, program_id)
    version = services.require_assigned(db.session, current_user, program)
    now = utcnow()
    services.close_expired(db.session, current_user.id, program.id, now)
    read = services.read_topic_ids(db.session, current_user.id, version.id)
    unread = services.first_unread(version, read)
    state = services.quiz_state(db.session, current_user, program, now)
    attempts = queries.my_attempts(db.session, current_user.id, program.id)
    return _page(
        "learning/course.html",
        program=program,
        v=version,
        read=read,
        unread=unread,
        quiz=state,
        attempts=attempts,
        completion=valid_completion(db.session, current_user.id, program.id, local_date(now)),
        form=ConfirmForm(),
    )


@bp.route("/programs/<int:program_id>/topics/<int:position>")
@requires("learning.take")
def topic(program_id: int, position: int):
    program = services.get_program(db.session, program_id)
    version = services.require_assigned(db.session, current_user, program)
    topic = services.get_topic(version, position)
    read = services.read_topic_ids(db.session, current_user.id, version.id)
    return _page(
        "learning/topic.html",
        program=program,
        v=version,
        topic=topic,
        read=read,
        form=ConfirmForm(),
    )


@bp.route("/programs/<int:program_id>/attachments/<int:attachment_id>")
@requires("learning.take")
def attachment(program_id: int, attachment_id: int):
    """An attachment of a topic of a program assigned to the person."""
    program = services.get_program(db.session, program_id)
    version = services.require_assigned(db.session, current_user, program)
    att = program_queries.get_attachment(db.session, attachment_id)
    if att.topic.version_id != version.id:
        abort(404)
    return Response(
        att.data,
        mimetype=att.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{att.filename}"',
            "Cache-Control": "private, max-age=3600",
        },
    )


@bp.route("/programs/<int:program_id>/topics/<int:position>/read", methods=["POST"])
@requires("learning.take")
def mark_read(program_id: int, position: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    program = services.get_program(db.session, program_id)
    version = services.require_assigned(db.session, current_user, program)
    topic = services.get_topic(version, position)
    services.mark_read(db.session, current_user, program, topic)
    read = services.read_topic_ids(db.session, current_user.id, version.id)
    later = next((t for t in version.topics if t.position > position and t.id not in read), None)
    following = later or services.first_unread(version, read)
    if following is not None:
        return redirect(url_for(".topic", program_id=program.id, position=following.position))
    flash(_("You have read every topic of this course."), "success")
    return redirect(url_for(".course", program_id=program.id, _anchor="quiz"))


# ----- quizzes ---------------------------------------------------------------------------------


@bp.route("/programs/<int:program_id>/attempts", methods=["POST"])
@requires("learning.take")
def start(program_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    program = services.get_program(db.session, program_id)
    attempt = services.start_attempt(db.session, current_user, program)
    return redirect(url_for(".attempt", attempt_id=attempt.id))


def _fallbacks(attempt, lang: str) -> list[str]:
    """The languages questions of the attempt fall back to, when the learner's is missing."""
    found: set[str] = set()
    for aq in attempt.questions:
        texts = [aq.question.text] + [a.get("text") for a in aq.question.answers]
        found |= {code for t in texts if (code := pick(t, lang)[1]) is not None}
    return sorted(LANGUAGE_NAMES.get(f, f) for f in found)


def _quiz_page(attempt, status: int = 200, errors=None, chosen=None, message=None):
    return _page(
        "learning/attempt.html",
        status,
        attempt=attempt,
        program=attempt.program,
        v=attempt.version,
        settings=services.quiz_settings(attempt.version),
        fallbacks=_fallbacks(attempt, _lang()),
        errors=errors or set(),
        chosen=chosen or {},
        message=message,
        form=ConfirmForm(),
    )


def _result_page(attempt, status: int = 200, review: bool = False):
    """The outcome of a finished attempt, for the learner or (review) for an instructor."""
    now = utcnow()
    program = attempt.program
    state = None
    if program.current_version_id is not None:
        state = services.quiz_state(db.session, attempt.user, program, now)
    return _page(
        "learning/result.html",
        status,
        attempt=attempt,
        program=program,
        v=attempt.version,
        settings=services.quiz_settings(attempt.version),
        reveal=review or services.reveal_correct(db.session, attempt, now),
        review=review,
        quiz=state,
        completion=queries.completion_of(db.session, attempt.id),
        form=ConfirmForm(),
        grant_form=GrantForm(),
        can_grant=review
        and state is not None
        and isinstance(state.blocked, services.NoAttemptsLeft),
    )


@bp.route("/attempts/<int:attempt_id>")
@requires("learning.take")
def attempt(attempt_id: int):
    attempt = services.get_attempt(db.session, attempt_id, current_user)
    now = utcnow()
    if attempt.state == "open" and attempt.time_is_up(now):
        services.close_expired(db.session, current_user.id, attempt.program_id, now)
    if attempt.state == "open":
        return _quiz_page(attempt)
    return _result_page(attempt)


@bp.route("/attempts/<int:attempt_id>", methods=["POST"])
@requires("learning.take")
def submit(attempt_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    attempt = services.get_attempt(db.session, attempt_id, current_user)
    try:
        outcome = services.submit_attempt(
            db.session, attempt, current_user, request.form.to_dict(flat=False)
        )
    except services.Unanswered as err:
        return _quiz_page(
            attempt, 400, errors=set(err.missing), chosen=err.chosen, message=err.message
        )
    except services.TimeUp as err:
        db.session.commit()  # keep the attempt closed as failed; no answer was stored
        flash(err.message, "error")
        return _result_page(attempt, 409)
    except services.AlreadySubmitted as err:
        db.session.rollback()
        flash(err.message, "error")
        return _result_page(services.get_attempt(db.session, attempt_id, current_user), 409)
    a = outcome.attempt
    if a.passed:
        flash(_("You passed with %(score)s%%.", score=a.score_percent), "success")
    else:
        flash(
            _(
                "You did not pass: %(score)s%%, the pass mark is %(mark)s%%.",
                score=a.score_percent,
                mark=a.pass_mark,
            ),
            "warning",
        )
    return redirect(url_for(".attempt", attempt_id=a.id))


# ----- results for instructors and managers ---------------------------------------------------


@bp.route("/results")
@requires("learning.results")
def results():
    return _page("learning/results.html", rows=queries.overview(db.session, current_user))


@bp.route("/results/<int:program_id>")
@requires("learning.results")
def program_results(program_id: int):
    program = services.get_program(db.session, program_id)
    versions = queries.versions_with_attempts(db.session, program.id)
    wanted = id_arg("version")
    version = next((v for v in versions if v.number == wanted), None)
    if version is None:
        version = next((v for v in versions if v.id == program.current_version_id), None)
        version = version or (versions[0] if versions else None)
    page = paginate(
        db.session,
        queries.attempts_stmt(
            db.session, current_user, program.id, version.id if version else None
        ),
        page_arg(),
        50,
        scalars=False,
    )
    stats = queries.question_stats(db.session, current_user, version.id) if version else []
    return _page(
        "learning/program_results.html",
        program=program,
        version=version,
        versions=versions,
        page=page,
        stats=stats,
        now=utcnow(),
    )


@bp.route("/results/attempts/<int:attempt_id>")
@requires("learning.results")
def attempt_review(attempt_id: int):
    attempt = load_or_404(db.session, Attempt, attempt_id)
    if not queries.can_see(db.session, current_user, attempt.user, attempt.program):
        abort(403)
    return _result_page(attempt, review=True)


@bp.route("/results/<int:program_id>/people/<int:user_id>/grant", methods=["POST"])
@requires("learning.results")
def grant(program_id: int, user_id: int):
    program = services.get_program(db.session, program_id)
    person = get_user(db.session, user_id)
    if not queries.can_see(db.session, current_user, person, program):
        abort(403)
    form = GrantForm()
    if not form.validate_on_submit():
        abort(400)
    services.grant_attempts(db.session, program, person, current_user.id, form.reason.data or "")
    flash(
        _("%(name)s may take the quiz of %(code)s again.", name=person.name, code=program.code),
        "success",
    )
    back = request.form.get("attempt_id", "")
    if back.isdigit():
        return redirect(url_for(".attempt_review", attempt_id=int(back)))
    return redirect(url_for(".program_results", program_id=program.id))


# ----- the quiz editor of a draft version -----------------------------------------------------


def _editor_context(v):
    return dict(v=v, program=v.program, settings=services.quiz_settings(v), form=ConfirmForm())


def _settings_form(v) -> QuizSettingsForm:
    """The settings form filled with the version's quiz settings."""
    s = services.quiz_settings(v)
    return QuizSettingsForm(
        formdata=None,
        pass_mark=s.pass_mark,
        questions_per_attempt=s.questions_per_attempt,
        max_attempts=s.max_attempts,
        wait_minutes=s.wait_minutes,
        time_limit_minutes=s.time_limit_minutes,
        show_answers=s.show_answers,
    )


@bp.route("/programs/<int:program_id>/v/<int:number>/questions")
@requires("programs.edit")
def questions(program_id: int, number: int):
    v = programs.get_version(db.session, program_id, number)
    return _page("learning/questions.html", settings_form=_settings_form(v), **_editor_context(v))


@bp.route("/programs/<int:program_id>/v/<int:number>/questions/settings", methods=["POST"])
@requires("programs.edit")
def quiz_settings(program_id: int, number: int):
    v = programs.get_version(db.session, program_id, number)
    editor.require_draft(v)
    form = QuizSettingsForm()
    if form.validate_on_submit():
        try:
            editor.update_quiz_settings(
                db.session,
                v,
                pass_mark=form.pass_mark.data,
                questions_per_attempt=form.questions_per_attempt.data,
                max_attempts=form.max_attempts.data,
                wait_minutes=form.wait_minutes.data or 0,
                time_limit_minutes=form.time_limit_minutes.data,
                show_answers=form.show_answers.data,
                actor_id=current_user.id,
            )
        except DomainError as err:
            if err.status_code != 400:
                raise
            if not apply_domain_error(form, err):
                flash(err.message, "error")
        else:
            flash(_("The quiz settings were saved."), "success")
            return redirect(url_for(".questions", program_id=program_id, number=number))
    return _page("learning/questions.html", 400, settings_form=form, **_editor_context(v))


def _texts(form, prefix: str) -> dict[str, str]:
    return {
        lang: (form[f"{prefix}_{lang}"].data or "").strip()
        for lang in LANG_CODES
        if (form[f"{prefix}_{lang}"].data or "").strip()
    }


@bp.route("/programs/<int:program_id>/v/<int:number>/questions/new", methods=["GET", "POST"])
@bp.route(
    "/programs/<int:program_id>/v/<int:number>/questions/<int:question_id>",
    methods=["GET", "POST"],
)
@requires("programs.edit")
def question_form(program_id: int, number: int, question_id: int | None = None):
    v = programs.get_version(db.session, program_id, number)
    question = editor.get_question(v, question_id) if question_id else None
    editor.require_draft(v)
    form = QuestionForm()
    if request.method == "GET":
        if question is not None:
            form.key.data, form.type.data = question.key, question.type
            for lang in LANG_CODES:
                form[f"text_{lang}"].data = question.text.get(lang, "")
            for entry, answer in zip(form.answers.entries, question.answers, strict=False):
                entry.form.id.data = answer["id"]
                entry.form.correct.data = bool(answer.get("correct"))
                for lang in LANG_CODES:
                    entry.form[f"text_{lang}"].data = answer["text"].get(lang, "")
            for answer in question.answers[len(form.answers.entries) :]:
                form.answers.append_entry(
                    {
                        "id": answer["id"],
                        "correct": bool(answer.get("correct")),
                        **{f"text_{lang}": answer["text"].get(lang, "") for lang in LANG_CODES},
                    }
                )
        else:
            form.key.data = editor.next_question_key(v)
    status = 200
    if form.validate_on_submit():
        answers = [
            {
                "id": entry.form.id.data,
                "text": _texts(entry.form, "text"),
                "correct": entry.form.correct.data,
            }
            for entry in form.answers.entries
        ]
        values = dict(
            key=form.key.data,
            qtype=form.type.data,
            text=_texts(form, "text"),
            answers=answers,
            actor_id=current_user.id,
        )
        try:
            if question is None:
                editor.add_question(db.session, v, **values)
            else:
                editor.update_question(db.session, question, **values)
        except DomainError as err:
            if err.status_code != 400:
                raise
            db.session.rollback()
            if err.field in ("text", "answers"):
                flash(err.message, "error")
            else:
                if not apply_domain_error(form, err):
                    flash(err.message, "error")
            status = 400
        else:
            flash(_("The question was saved."), "success")
            return redirect(url_for(".questions", program_id=program_id, number=number))
    elif request.method == "POST":
        status = 400
    return _page(
        "learning/question_form.html",
        status,
        v=v,
        program=v.program,
        question=question,
        qform=form,
    )


@bp.route(
    "/programs/<int:program_id>/v/<int:number>/questions/<int:question_id>/delete",
    methods=["POST"],
)
@requires("programs.edit")
def question_delete(program_id: int, number: int, question_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    v = programs.get_version(db.session, program_id, number)
    editor.delete_question(db.session, editor.get_question(v, question_id), current_user.id)
    flash(_("The question was removed from the draft."), "success")
    return redirect(url_for(".questions", program_id=program_id, number=number))


# ----- navigation and the start page ------------------------------------------------------------

nav.register(_l("My training"), "learning.my_training", "learning.take", order=1)
nav.register(_l("Quiz results"), "learning.results", "learning.results", order=30)
nav.register_home_panel("learning/_home.html", "learning.take", order=5)


@bp.app_context_processor
def _home_context():
    def learning_todo(limit: int = 5):
        if not current_user.is_authenticated:
            return []
        items = services.my_training(db.session, current_user, utcnow())
        return [i for i in items if i.status.state != "passed"][:limit]

    return {"learning_todo": learning_todo, "learning_pick": pick, "learning_labels": labels}
