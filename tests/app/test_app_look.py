"""The app's colours are readable: every text colour on every background it
is drawn on reaches WCAG AA (4.5:1), in light and in dark mode."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = (
    Path(__file__).parents[2] / "src" / "scoreganizer_client_lib" / "app" / "static" / "app.css"
).read_text()
DARK = "@media (prefers-color-scheme: dark)"

#: (text colour, background) as the stylesheet draws them.
PAIRS = [
    ("text", "bg"),
    ("text", "card"),
    ("text", "soft"),
    ("muted", "bg"),
    ("muted", "card"),
    ("muted", "soft"),  # badges
    ("accent", "bg"),  # links
    ("accent", "card"),
    ("accent", "soft"),  # the drop zone while a file is over it
    ("accent-text", "accent"),  # primary buttons
    ("ok", "ok-soft"),  # "Accepted"
    ("ok", "card"),  # "Copied", the summary's accepted
    ("bad", "card"),  # the summary's refused
    ("wait", "card"),  # the summary's not sent yet
    ("muted", "ok-soft"),  # an entry's small print
    ("bad", "bad-soft"),  # "Refused", problems
    ("muted", "bad-soft"),
    ("wait", "wait-soft"),  # "Not sent yet", notes
    ("muted", "wait-soft"),
]


def palette(dark: bool) -> dict[str, str]:
    def colours(text: str) -> dict[str, str]:
        return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})\b", text))

    light = colours(CSS[: CSS.index(DARK)])
    if not dark:
        return light
    block = CSS[CSS.index(DARK) :]
    return {**light, **colours(block[: block.index("}\n}") + 1])}


def luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_every_text_colour_is_readable_on_its_background(dark: bool) -> None:
    colours = palette(dark)
    low = {
        f"{text} on {background}": round(contrast(colours[text], colours[background]), 2)
        for text, background in PAIRS
        if contrast(colours[text], colours[background]) < 4.5
    }
    assert low == {}


def test_the_dark_palette_is_not_the_light_one() -> None:
    assert palette(True)["bg"] != palette(False)["bg"]
    assert palette(True)["text"] != palette(False)["text"]
