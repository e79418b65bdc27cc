"""Checkers of chapter 08 (filled in by that chapter)."""

__all__: list[str] = []
