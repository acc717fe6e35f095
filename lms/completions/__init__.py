"""Completions (who holds which training, until when) and their certificates."""
