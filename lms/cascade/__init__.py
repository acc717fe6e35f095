"""Cascade mode: designated responsible persons brief their own staff."""
