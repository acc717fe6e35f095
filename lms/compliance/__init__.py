"""Compliance: requirements, the status engine, the matrix, dashboards, reminders."""
