"""Calendars: a private .ics feed per person (token in the address), and one session's .ics."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from icalendar import Calendar

from lms.extensions import db
from lms.sessions import services
from tests.sessions.conftest import enrol

pytestmark = pytest.mark.usefixtures("clock")


def _events(data: bytes) -> dict[str, dict]:
    cal = Calendar.from_ical(data)
    return {
        str(ev["UID"]): {
            "summary": str(ev["SUMMARY"]),
            "start": ev.decoded("DTSTART"),
            "end": ev.decoded("DTEND"),
            "status": str(ev["STATUS"]),
            "sequence": int(ev["SEQUENCE"]),
            "location": str(ev.get("LOCATION", "")),
        }
        for ev in cal.walk("VEVENT")
    }


def test_feed_of_an_employee_and_of_an_instructor(client, make_session, people, instructor):
    mine = make_session(start=datetime(2025, 3, 10, 10), capacity=1, place="Hall B")
    full = make_session(start=datetime(2025, 3, 11, 10), capacity=1)
    other = make_session(start=datetime(2025, 3, 12, 10))
    enrol(mine, people[0])
    enrol(full, people[1], people[0])  # people[0] waits
    cancelled = make_session(start=datetime(2025, 3, 13, 10))
    enrol(cancelled, people[0])
    services.cancel_session(db.session, cancelled, "Flu", instructor)
    db.session.commit()

    resp = client.get(f"/sessions/calendar/{people[0].calendar_token}.ics")
    assert resp.status_code == 200 and resp.mimetype == "text/calendar"
    events = _events(resp.data)
    uid = f"brigade-session-{mine.id}@brigade.lms"
    assert set(events) == {
        uid,
        f"brigade-session-{full.id}@brigade.lms",
        f"brigade-session-{cancelled.id}@brigade.lms",
    }
    assert events[uid]["start"] == datetime(2025, 3, 10, 8, tzinfo=UTC)
    assert events[uid]["end"] == datetime(2025, 3, 10, 9, tzinfo=UTC)
    assert events[uid]["status"] == "CONFIRMED" and events[uid]["location"] == "Hall B"
    assert mine.program.code in events[uid]["summary"]
    assert events[f"brigade-session-{full.id}@brigade.lms"]["status"] == "TENTATIVE"
    gone = events[f"brigade-session-{cancelled.id}@brigade.lms"]
    assert gone["status"] == "CANCELLED" and gone["sequence"] == 1
    assert f"brigade-session-{other.id}@brigade.lms" not in events

    teaching = _events(client.get(f"/sessions/calendar/{instructor.calendar_token}.ics").data)
    assert len(teaching) == 4
    assert client.get("/sessions/calendar/not-a-token.ics").status_code == 404
    assert client.get(f"/sessions/calendar/{'x' * 100}.ics").status_code == 404


def test_one_session_download_keeps_the_uid(client, auth, make_session, people):
    ts = make_session(start=datetime(2025, 3, 10, 10))
    enrol(ts, people[0])
    auth.login(people[0])
    resp = client.get(f"/sessions/{ts.id}/event.ics")
    assert resp.status_code == 200
    assert "attachment" in resp.headers["Content-Disposition"]
    assert list(_events(resp.data)) == [f"brigade-session-{ts.id}@brigade.lms"]
    assert client.get("/sessions/999999/event.ics").status_code == 404
