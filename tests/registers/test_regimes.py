"""Regimes as data: the shipped files load and say what the sources say; a wrong file fails
with file:line and nothing is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from lms.compliance import regimes

SHIPPED = Path(regimes.__file__).parent


def test_every_regime_loads_with_its_types_columns_and_retention():
    loaded = regimes.load_all()
    assert set(loaded) == {"LV-OHS", "LV-FIRE", "RU-OHS", "RU-FIRE", "US-OSHA"}
    lv = loaded["LV-OHS"]
    assert set(lv.briefing_types) == {
        "introductory",
        "initial",
        "repeated",
        "unscheduled",
        "targeted",
        "thematic",
    }
    assert lv.briefing_types["introductory"].names["lv"] == "Ievadapmācība"
    assert lv.briefing_types["repeated"].interval_months == 12
    assert lv.briefing_types["repeated"].interval_months_hazardous == 6
    assert lv.break_threshold(hazardous=False) == 61
    assert lv.break_threshold(hazardous=True) == 45
    assert "personal_code" in lv.columns and "patronymic" not in lv.columns
    ru_ohs = loaded["RU-OHS"]
    assert "patronymic" in ru_ohs.columns
    assert ru_ohs.briefing_types["repeated"].interval_months == 6
    ru_fire = loaded["RU-FIRE"]
    assert ru_fire.retention_years == 3
    assert "fire_minimum" not in ru_fire.briefing_types  # abolished in Russian law
    assert loaded["RU-FIRE"].category == loaded["LV-FIRE"].category == "fire"
    for regime in loaded.values():
        for bt in regime.briefing_types.values():
            assert set(bt.names) == {"en", "lv", "ru"}
        for col in (
            "date",
            "person",
            "position",
            "department",
            "briefing_type",
            "reason",
            "topics",
            "knowledge_check",
            "instructor",
            "instructor_position",
        ):
            assert col in regime.columns, (regime.code, col)


def _copy_with(tmp_path: Path, old: str, new: str) -> Path:
    for src in SHIPPED.glob("*.yaml"):
        (tmp_path / src.name).write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    path = tmp_path / "LV-OHS.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _line_of(path: Path, needle: str) -> int:
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return n
    raise AssertionError(needle)


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        (
            "  thematic:\n",
            "  fire_minimum:\n",
            "fire_minimum:",
            "unknown briefing type 'fire_minimum'",
        ),
        (
            "program, knowledge_check,",
            "program, grade,",
            "program, grade,",
            "unknown column 'grade'",
        ),
        ("  accident: {}", "  earthquake: {}", "earthquake", "unknown trigger 'earthquake'"),
    ],
)
def test_a_wrong_file_fails_with_file_and_line_and_loads_nothing(
    tmp_path, old, new, needle, message
):
    before = regimes.load_all()
    path = _copy_with(tmp_path, old, new)
    with pytest.raises(regimes.RegimeError) as err:
        regimes.load_all(tmp_path)
    assert str(err.value).startswith(f"LV-OHS.yaml:{_line_of(path, needle)}: ")
    assert message in str(err.value)
    assert regimes.all_regimes() == before  # nothing of the wrong directory was loaded


def test_an_unknown_chosen_regime_stops_the_start(app_factory=None):
    from lms import create_app
    from lms.config import Config, ConfigError

    with pytest.raises(ConfigError, match="unknown regimes: XX-FIRE"):
        create_app(Config(testing=True, secret_key="x", regimes=("LV-OHS", "XX-FIRE")))
