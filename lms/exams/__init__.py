"""Exam sessions: exam points with their checklists, the commission and technicians, the
access journal, results and the signed protocol."""
