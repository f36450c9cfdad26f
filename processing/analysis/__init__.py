"""Offline extractive transcript analysis: summary, raised issues and proposed solutions."""

from processing.analysis.extractive import (
    Item,
    Segment,
    definition_issue,
    definition_solution,
    summarize_text,
)

__all__ = [
    "Item",
    "Segment",
    "definition_issue",
    "definition_solution",
    "summarize_text",
]
