"""Shared pieces every domain stands on. Imports nothing else from lms."""
