"""Checkers of chapter 03 (filled in by that chapter)."""

__all__: list[str] = []
