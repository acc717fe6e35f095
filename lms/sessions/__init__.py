"""Scheduled sessions (briefings): enrolment, attendance, acknowledgments, journal, calendars."""
