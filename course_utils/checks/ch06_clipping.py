"""Checkers of chapter 06 (filled in by that chapter)."""

__all__: list[str] = []
