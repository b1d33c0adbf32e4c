"""The console's colours meet WCAG 2.1 AA for normal text (4.5:1) wherever the stylesheet puts
one on the other: measured from console.css itself, so a colour edit that breaks it fails here."""
from __future__ import annotations

import re
from pathlib import Path

import console
import pytest

CSS = (Path(console.__file__).parent / "static" / "console.css").read_text()
AA_TEXT = 4.5

# (text, background) as the stylesheet combines them; var(--x) or a literal hex colour.
PAIRS = [
    ("--ink", "--paper"), ("--ink", "--band"), ("--muted", "--paper"), ("--muted", "--band"),
    ("--accent", "--paper"), ("--accent", "--band"), ("#fff", "--accent"), ("#fff", "#14304f"),
    ("--bad-ink", "--bad-bg"), ("--bad-ink", "--paper"), ("#fff", "--bad-ink"), ("--ok-ink", "#e5f3e8"),
    ("--ok-ink", "--paper"), ("--warn-ink", "--paper"), ("--ink", "--warn-bg"), ("--accent", "--warn-bg"),
]


def variables(css: str) -> dict[str, str]:
    return dict(re.findall(r"(--[\w-]+):\s*(#[0-9a-fA-F]{3,6})", css))


def colour(name: str) -> str:
    return name if name.startswith("#") else variables(CSS)[name]


def luminance(hex_colour: str) -> float:
    digits = hex_colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    channels = [int(digits[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_ratio_is_computed_as_wcag_defines_it():
    assert contrast("#000", "#fff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic just-below-AA grey


@pytest.mark.parametrize(("text", "background"), PAIRS)
def test_text_is_readable_on_its_background(text, background):
    ratio = contrast(colour(text), colour(background))
    assert ratio >= AA_TEXT, f"{text} on {background}: {ratio:.2f}:1 < {AA_TEXT}:1"


def test_every_colour_variable_of_the_stylesheet_is_checked():
    used = {name for pair in PAIRS for name in pair if name.startswith("--")}
    assert set(variables(CSS)) - {"--line"} <= used  # --line draws borders, not text
