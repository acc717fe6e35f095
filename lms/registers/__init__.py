"""Registers: one per regime, built from the briefing events (held sessions) and the
countersigned self-paced completions of the regime's programs."""
