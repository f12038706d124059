"""A photo in words: what the grid's tooltip, the side panel and the loupe's caption say of it.

One function, three forms, so the three say the same facts the same way (which crop score counts, how a crop
is measured, how faces are counted) and differ only where their room differs: the tooltip is plain lines, the
side panel rich lines with the score's make-up, the loupe (and compare) one rich line. No Qt: rich text is
Qt's HTML subset, written here as strings.
"""

from __future__ import annotations

import html
import os
from enum import StrEnum

from selfie_desk.core.measures.eyes import EYE_WORDS
from selfie_desk.core.measures.reasons import ASPECTS
from selfie_desk.core.storage.catalog import Photo
from selfie_desk.core.vocabulary import Decision

ASPECT_LABELS = {name: name.capitalize() for name in ASPECTS}  # the score's aspects, as the side panel names them
FLAG_WORDS: dict[str, str] = {Decision.KEEP: "Pick", Decision.REJECT: "Reject"}
RED, AMBER, GREEN, GOLD = "#e5534b", "#d29922", "#2ea043", "#f0b428"


class Form(StrEnum):
    TOOLTIP = "tooltip"  # the grid: plain text, one fact a line
    PANEL = "panel"  # the side panel: rich text, one fact a line, the score's make-up
    CAPTION = "caption"  # the loupe and compare: rich text, one line


def display_name(name: str) -> str:
    """The file name as shown: a byte that is not UTF-8 becomes � (Qt would silently drop it, showing
    `caf.jpg` for `caf\\xe9.jpg`)."""
    return os.fsencode(name).decode("utf-8", "replace") if any("\udc80" <= c <= "\udcff" for c in name) else name


def name_of(p: Photo) -> str:
    """The file's name; a RAW+JPEG pair's as `IMG_1.CR3 + JPG` (one photo, two files)."""
    return display_name(os.path.basename(p.path)) + _pair_suffix(p)


def _pair_suffix(p: Photo) -> str:
    return "" if p.pair is None else " + " + (os.path.splitext(p.pair)[1].lstrip(".") or "JPEG")


def aspect_lines(p: Photo) -> list[str]:
    """What the score is made of: each aspect as a bar (higher is better) and the reasons, in words."""
    aspects = p.aspects
    if not aspects:
        return []
    out = []
    for key, label in ASPECT_LABELS.items():
        v = aspects.get(key)
        if v is None:
            continue
        filled = round(v * 10)
        colour = GREEN if v >= 0.6 else AMBER if v >= 0.35 else RED
        out.append(f"<span style='font-family:monospace'>{label.ljust(9).replace(' ', '&nbsp;')}</span> "
                   f"<span style='color:{colour}'>{'█' * filled}</span>"
                   f"<span style='color:#555'>{'█' * (10 - filled)}</span> {v:.2f}")
    if p.reasons:
        out.append("Why: " + html.escape(", ".join(p.reasons)))
    else:
        out.append("Why: nothing wrong that the score can see")
    return out


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n > 1 else ''}"


def describe(p: Photo, form: Form, rank: int | None = None, scored: int = 0) -> str:
    """`p` in `form`; `rank` (1 best) of `scored` photos in its folder, where known."""
    rich = form is not Form.TOOLTIP
    caption = form is Form.CAPTION
    px = " px" if form is Form.PANEL else ""

    def bold(text: str) -> str:
        return f"<b>{text}</b>" if rich else text

    def cased(text: str) -> str:  # the caption is one sentence: its facts are lower case
        return text[:1].lower() + text[1:] if caption else text

    parts = [f"<b>{html.escape(os.path.basename(p.path) + _pair_suffix(p))}</b>" if rich else name_of(p)]
    if p.error:
        text = f"{cased('Cannot read')}: {html.escape(p.error) if rich else p.error}"
        parts.append(f"<span style='color:{RED}'>{text}</span>" if rich else text)
    elif p.score is None:
        parts.append(cased("Not scored yet"))
    else:
        parts.append(f"{cased('Score')} {bold(f'{p.score:.3f}')}")
        if rank is not None and caption:
            parts.append(f"#{rank} of {scored} in this folder")
        elif rank is not None and scored and form is Form.PANEL:
            below = scored - rank
            share = f", better than {below / (scored - 1):.0%} of the others" if scored > 1 else ""
            parts.append(f"Rank #{rank} of {scored}{share}")
    scored_and_read = not p.error and p.score is not None
    if scored_and_read and caption and p.reasons:
        parts.append(f"<span style='color:{AMBER}'>" + html.escape(", ".join(p.reasons)) + "</span>")
    if scored_and_read and form is Form.PANEL:
        parts += aspect_lines(p)
    if scored_and_read and rich:
        if p.faces:
            shown = p.faces[:4] if caption else p.faces[:6]
            conf = ", ".join(f"{f.confidence:.0%}" for f in shown)
            eyes = ", ".join(EYE_WORDS.get(f.eyes, EYE_WORDS["unknown"]) for f in shown)
            parts.append(f"{_plural(len(p.faces), 'face')} ({conf}; {eyes})" if caption
                         else f"{_plural(len(p.faces), 'face')}: {conf} sure; {eyes}")
        else:
            parts.append("no faces" if caption else "No faces found")
    if not caption:  # the caption leaves crop scores to the crop overlay
        if p.crop is not None and p.crop_score is not None:
            parts.append(f"Accepted crop {bold(f'{p.crop_score:.3f}')}")
        elif p.best_crop_score is not None and (p.crop is None or not rich):
            parts.append(f"Best proposed crop {bold(f'{p.best_crop_score:.3f}')}")
    if p.width:
        parts.append(f"{p.width} × {p.height}{px}")
    if p.crop is not None:
        x0, y0, x1, y1 = p.crop
        parts.append(f"{cased('Cropped to')} {round(x1 - x0)} × {round(y1 - y0)}{px}")
    if form is Form.TOOLTIP and p.faces:
        parts.append(_plural(len(p.faces), "face"))
    if form is Form.PANEL:
        if p.captured_at:
            parts.append(f"Taken {p.captured_at.replace('T', ' ')}")
        flag = FLAG_WORDS.get(p.decision or "", "Unflagged")
        stars = "★" * p.rating + "☆" * (5 - p.rating)
        parts.append(f"{flag} &nbsp; <span style='color:{GOLD}'>{stars}</span>")
    if caption:
        if p.decision == Decision.KEEP:
            parts.append(f"<span style='color:{GREEN}'><b>✓ pick</b></span>")
        elif p.decision == Decision.REJECT:
            parts.append(f"<span style='color:{RED}'><b>✕ reject</b></span>")
        if p.rating:
            parts.append(f"<span style='color:{GOLD}'>{'★' * p.rating}</span>")
    return {Form.TOOLTIP: "\n", Form.PANEL: "<br>", Form.CAPTION: " &nbsp;·&nbsp; "}[form].join(parts)
