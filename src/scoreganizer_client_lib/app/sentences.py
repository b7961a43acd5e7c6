"""Failures as the app's pages say them: the library's reason and advice
(:func:`~scoreganizer_client_lib.explain.explain`) laid out as sentences."""

from __future__ import annotations

from ..exceptions import ScoreganizerError
from ..explain import Explanation, explain


def sentence(text: str) -> str:
    """``text`` as a sentence: capital first letter, full stop."""
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def in_sentences(explained: Explanation) -> str:
    """A failure as the pages say it: the reason, then what to do, as sentences."""
    advice = f" {sentence(explained.advice)}" if explained.advice else ""
    return sentence(explained.reason) + advice


def refusal_words(exc: ScoreganizerError) -> str:
    """A refusal of the server in words (with its own reason, when it gave one)."""
    return in_sentences(explain(exc))
