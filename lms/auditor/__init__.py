"""The auditors\x27 read-only portal and the audit log."""
