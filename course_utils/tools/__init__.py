"""Instructor tools: ``notebooks`` (execute in a fresh kernel), ``exercises`` (generator)."""
