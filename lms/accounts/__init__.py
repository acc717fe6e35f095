"""Accounts: people, departments, roles, log-in."""
