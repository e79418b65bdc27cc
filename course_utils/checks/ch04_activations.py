"""Checkers of chapter 04 (filled in by that chapter)."""

__all__: list[str] = []
