"""Checkers of chapter 05 (filled in by that chapter)."""

__all__: list[str] = []
