"""Checkers of chapter 07 (filled in by that chapter)."""

__all__: list[str] = []
