"""Checkers of chapter 02 (filled in by that chapter)."""

__all__: list[str] = []
