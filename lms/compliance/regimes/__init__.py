"""Regimes as data: each jurisdiction's briefing types, intervals, triggers, register columns
and retention, in one YAML file per regime beside this module (LV-OHS.yaml, ...).

`load_all()` reads and validates every file; a wrong file fails with ``file:line`` and nothing
is loaded (`RegimeError`). The application loads them at start (`init_app`) and the
organisation's chosen regimes (``LMS_REGIMES``) must all exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from flask import Flask

from lms.compliance.models import ChosenRegime
from lms.extensions import db

HERE = Path(__file__).parent
LANGUAGES = ("en", "lv", "ru")
CATEGORIES = ("fire", "workplace", "technical")
# every briefing type a regime may name (the keys of the register and of briefing events)
BRIEFING_TYPES = (
    "introductory",
    "initial",
    "repeated",
    "unscheduled",
    "targeted",
    "thematic",
    "fire_briefing",
    "extinguisher_education",
    "extinguisher_training",
    "eap_review",
    "fpp_information",
)
TRIGGERS = (
    "break",
    "transfer",
    "instruction_amended",
    "accident",
    "fire",
    "rule_breach",
    "new_rules",
    "knowledge_check_failed",
)
# every column a register can print (lms.registers knows how to fill each)
COLUMNS = (
    "date",
    "person",
    "personal_code",
    "patronymic",
    "position",
    "department",
    "briefing_type",
    "reason",
    "topics",
    "program",
    "knowledge_check",
    "instructor",
    "instructor_position",
    "attendee_signature",
    "instructor_signature",
)


class RegimeError(ValueError):
    """A regime file that cannot be used: the message starts with file:line."""


@dataclass(frozen=True)
class BriefingType:
    key: str
    names: dict[str, str]
    interval_months: int | None = None
    interval_months_hazardous: int | None = None
    needs_reason: bool = False

    def name(self, lang: str) -> str:
        return self.names.get(lang) or self.names["en"]


@dataclass(frozen=True)
class Regime:
    code: str
    category: str
    language: str
    act: dict[str, str]
    briefing_types: dict[str, BriefingType]
    triggers: dict[str, dict[str, Any]]
    columns: tuple[str, ...]
    retention_years: int | None = None
    retention_source: str = ""
    source_file: str = field(default="", compare=False)

    def break_threshold(self, hazardous: bool) -> int | None:
        """The absence length (calendar days) from which a return needs an unscheduled
        briefing, or None when this regime has no break trigger."""
        rule = self.triggers.get("break")
        if rule is None:
            return None
        if hazardous and "due_from_days_hazardous" in rule:
            return int(rule["due_from_days_hazardous"])
        return int(rule["due_from_days"])

    def type_name(self, key: str, lang: str) -> str:
        bt = self.briefing_types.get(key)
        return bt.name(lang) if bt else key


def _where(path: Path, node: yaml.Node) -> str:
    return f"{path.name}:{node.start_mark.line + 1}"


def _mapping(path: Path, node: yaml.Node, what: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        raise RegimeError(f"{_where(path, node)}: {what} must be a mapping")
    out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for k, v in node.value:
        out[str(k.value)] = (k, v)
    return out


def _scalar(path: Path, node: yaml.Node, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode) or node.value in ("", "null", "~"):
        raise RegimeError(f"{_where(path, node)}: {what} must be a value")
    return str(node.value)


def _int(path: Path, node: yaml.Node, what: str) -> int:
    text = _scalar(path, node, what)
    if not text.isdigit() or not 1 <= int(text) <= 1200:
        raise RegimeError(f"{_where(path, node)}: {what} must be a whole number 1..1200")
    return int(text)


def _names(path: Path, node: yaml.Node, what: str) -> dict[str, str]:
    m = _mapping(path, node, what)
    out = {}
    for lang in LANGUAGES:
        if lang not in m:
            raise RegimeError(f"{_where(path, node)}: {what} has no {lang} text")
        out[lang] = _scalar(path, m[lang][1], f"{what}.{lang}")
    for key, (k, _v) in m.items():
        if key not in LANGUAGES:
            raise RegimeError(f"{_where(path, k)}: unknown language {key!r} in {what}")
    return out


def parse(path: Path, text: str | None = None) -> Regime:
    """One regime file, validated; RegimeError (file:line) on the first problem."""
    if text is None:
        text = path.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise RegimeError(f"{path.name}:{line}: not valid YAML ({err})") from None
    if root is None:
        raise RegimeError(f"{path.name}:1: the file is empty")
    top = _mapping(path, root, "a regime")
    allowed = {
        "code",
        "category",
        "language",
        "act",
        "briefing_types",
        "triggers",
        "columns",
        "retention",
    }
    for key, (k, _v) in top.items():
        if key not in allowed:
            raise RegimeError(f"{_where(path, k)}: unknown key {key!r}")
    for key in ("code", "category", "language", "act", "briefing_types", "columns"):
        if key not in top:
            raise RegimeError(f"{path.name}:1: {key} is missing")
    code = _scalar(path, top["code"][1], "code")
    if code != path.stem:
        raise RegimeError(f"{_where(path, top['code'][1])}: code {code!r} is not the file name")
    category = _scalar(path, top["category"][1], "category")
    if category not in CATEGORIES:
        raise RegimeError(f"{_where(path, top['category'][1])}: unknown category {category!r}")
    language = _scalar(path, top["language"][1], "language")
    if language not in LANGUAGES:
        raise RegimeError(f"{_where(path, top['language'][1])}: unknown language {language!r}")
    act = _names(path, top["act"][1], "act")

    types: dict[str, BriefingType] = {}
    for key, (k, v) in _mapping(path, top["briefing_types"][1], "briefing_types").items():
        if key not in BRIEFING_TYPES:
            raise RegimeError(f"{_where(path, k)}: unknown briefing type {key!r}")
        fields = _mapping(path, v, f"briefing type {key}")
        for fk, (fnode, _fv) in fields.items():
            if fk not in ("names", "interval_months", "interval_months_hazardous", "needs_reason"):
                raise RegimeError(f"{_where(path, fnode)}: unknown key {fk!r} in {key}")
        if "names" not in fields:
            raise RegimeError(f"{_where(path, k)}: briefing type {key} has no names")
        types[key] = BriefingType(
            key=key,
            names=_names(path, fields["names"][1], f"{key}.names"),
            interval_months=_int(path, fields["interval_months"][1], f"{key}.interval_months")
            if "interval_months" in fields
            else None,
            interval_months_hazardous=_int(
                path, fields["interval_months_hazardous"][1], f"{key}.interval_months_hazardous"
            )
            if "interval_months_hazardous" in fields
            else None,
            needs_reason=_scalar(path, fields["needs_reason"][1], "needs_reason") == "true"
            if "needs_reason" in fields
            else False,
        )
    if not types:
        raise RegimeError(f"{_where(path, top['briefing_types'][1])}: no briefing types")

    triggers: dict[str, dict[str, Any]] = {}
    if "triggers" in top:
        for key, (k, v) in _mapping(path, top["triggers"][1], "triggers").items():
            if key not in TRIGGERS:
                raise RegimeError(f"{_where(path, k)}: unknown trigger {key!r}")
            params = {}
            for pk, (pnode, pv) in _mapping(path, v, f"trigger {key}").items():
                if key != "break" or pk not in ("due_from_days", "due_from_days_hazardous"):
                    raise RegimeError(f"{_where(path, pnode)}: unknown setting {pk!r} of {key}")
                params[pk] = _int(path, pv, pk)
            if key == "break" and "due_from_days" not in params:
                raise RegimeError(f"{_where(path, k)}: the break trigger needs due_from_days")
            triggers[key] = params

    cols_node = top["columns"][1]
    if not isinstance(cols_node, yaml.SequenceNode) or not cols_node.value:
        raise RegimeError(f"{_where(path, cols_node)}: columns must be a non-empty list")
    columns: list[str] = []
    for item in cols_node.value:
        name = _scalar(path, item, "a column")
        if name not in COLUMNS:
            raise RegimeError(f"{_where(path, item)}: unknown column {name!r}")
        if name in columns:
            raise RegimeError(f"{_where(path, item)}: column {name!r} twice")
        columns.append(name)

    years, source = None, ""
    if "retention" in top:
        rnode = top["retention"][1]
        if not (isinstance(rnode, yaml.ScalarNode) and rnode.value in ("null", "~", "")):
            r = _mapping(path, rnode, "retention")
            for rk, (rn, _rv) in r.items():
                if rk not in ("years", "source"):
                    raise RegimeError(f"{_where(path, rn)}: unknown key {rk!r} in retention")
            if "years" not in r:
                raise RegimeError(f"{_where(path, rnode)}: retention needs years")
            years = _int(path, r["years"][1], "retention.years")
            source = _scalar(path, r["source"][1], "retention.source") if "source" in r else ""
    return Regime(
        code=code,
        category=category,
        language=language,
        act=act,
        briefing_types=types,
        triggers=triggers,
        columns=tuple(columns),
        retention_years=years,
        retention_source=source,
        source_file=path.name,
    )


_LOADED: dict[str, Regime] = {}


def load_all(directory: Path = HERE) -> dict[str, Regime]:
    """Every regime file of the directory, all valid, or RegimeError and nothing loaded."""
    found = {}
    for path in sorted(directory.glob("*.yaml")):
        regime = parse(path)
        found[regime.code] = regime
    if not found:
        raise RegimeError(f"{directory}: no regime files")
    _LOADED.clear()
    _LOADED.update(found)
    return dict(found)


def all_regimes() -> dict[str, Regime]:
    if not _LOADED:
        load_all()
    return dict(_LOADED)


def get(code: str) -> Regime:
    regimes = all_regimes()
    if code not in regimes:
        raise KeyError(code)
    return regimes[code]


def stored_choice() -> list[str]:
    """The regimes an administrator chose (stored in the database), in their order; empty
    when none was chosen (then LMS_REGIMES applies)."""
    known = all_regimes()
    return [
        c
        for c in db.session.scalars(
            sa.select(ChosenRegime.code).order_by(ChosenRegime.position, ChosenRegime.code)
        )
        if c in known
    ]


def chosen(app_config: Any) -> list[Regime]:
    """The regimes the organisation works under: the administrator's choice, else
    LMS_REGIMES, in that order."""
    codes = stored_choice() or app_config.get("LMS_REGIMES") or ("LV-OHS", "LV-FIRE")
    return [get(c) for c in codes]


def for_category(app_config: Any, category: str) -> list[Regime]:
    return [r for r in chosen(app_config) if r.category == category]


def init_app(app: Flask, codes: tuple[str, ...]) -> None:
    """Load and validate every regime at start; the chosen ones must exist."""
    regimes = load_all()
    unknown = [c for c in codes if c not in regimes]
    if unknown:
        raise RegimeError(
            f"LMS_REGIMES names unknown regimes: {', '.join(unknown)} "
            f"(known: {', '.join(sorted(regimes))})"
        )
    app.config["LMS_REGIMES"] = tuple(codes)
