"""Each course pack names the regimes and briefing types it serves and the rule it follows;
FS-MIN is marked as not valid for Russia (no fire-technical minimum exists in Russian law)."""

from __future__ import annotations

from pathlib import Path

import yaml

from lms.compliance import regimes
from lms.programs.packs import load_pack

COURSES = Path(__file__).resolve().parents[2] / "courses"


def _packs() -> dict[str, dict]:
    return {
        p.parent.name: yaml.safe_load(p.read_text(encoding="utf-8"))
        for p in sorted(COURSES.glob("*/program.yaml"))
    }


def test_every_pack_names_known_regimes_types_and_rules():
    known = regimes.load_all()
    packs = _packs()
    assert len(packs) == 5
    for name, data in packs.items():
        serves = data.get("serves")
        assert serves, name
        for code, entry in serves.items():
            regime = known[code]
            assert regime.category == data["category"], (name, code)
            assert entry["types"], (name, code)
            for kind in entry["types"]:
                assert kind in regime.briefing_types, (name, code, kind)
            assert entry["rule"].strip(), (name, code)
        for code in data.get("not_valid_for") or {}:
            assert code in known and code not in serves, (name, code)
        load_pack(COURSES / name)  # the import still reads the pack


def test_fs_min_is_not_valid_for_russia_and_claims_no_fire_technical_minimum():
    fs_min = _packs()["fire-technical-minimum"]
    assert fs_min["code"] == "FS-MIN"
    assert set(fs_min["serves"]) == {"LV-FIRE"}
    assert "no longer exists in Russian law" in fs_min["not_valid_for"]["RU-FIRE"]
    text = (COURSES / "fire-technical-minimum" / "program.yaml").read_text(encoding="utf-8")
    title = yaml.safe_load(text)["title"]
    assert "минимум" not in title["ru"].lower()
    for data in _packs().values():
        assert not {"RU-FIRE", "RU-OHS"} & set(data["serves"]) or data["code"] != "FS-MIN"
