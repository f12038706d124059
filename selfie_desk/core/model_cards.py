"""The score models a user can choose and their cards, read without loading torch (the window lists them
on its own thread; `selfie-desk models` answers at once).

The bundled default's card is models/score_head.json; a personal model's is NAME.json beside NAME.pt in
the app's data folder (selfie_desk.neural.taste writes both).
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

from selfie_desk.core import paths
from selfie_desk.core.measures.embedding import OLD_BACKBONE_ID

DEFAULT_MODEL = "default"
DEFAULT_HEAD_FILE = "score_head.pt"
# What a personal model may be called (a file name on every platform, never the default's)
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DEFAULT_CARD_FILE = "score_head.json"
# The parts of the default's card worth listing (the rest is the list of training photos).
DEFAULT_CARD_KEYS = ("name", "version", "date", "backbone", "head", "input", "validation", "test", "pairs_heldout",
                     "aspects_heldout", "heldout_group_gap")
Card = dict[str, Any]  # a model card as read from its JSON file


def model_cards() -> dict[str, tuple[Path, Card]]:
    """name -> (model file, card), the bundled default first. An unreadable card reads as {"error": why}."""
    out: dict[str, tuple[Path, Card]] = {}
    bundled = paths.bundled_models_dir()
    card = _read(bundled / DEFAULT_CARD_FILE)
    out[DEFAULT_MODEL] = (bundled / "score_head.pt", {k: v for k, v in card.items() if k in DEFAULT_CARD_KEYS
                                                      or k == "error"})
    for file in sorted(paths.user_models_dir().glob("*.pt")):
        if file.stem not in out:
            out[file.stem] = (file, _read(file.with_suffix(".json")))
    return out


def _read(file: Path) -> Card:
    try:
        card = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {"error": f"cannot read the model card {file}: {exc}"}
    return card if isinstance(card, dict) else {"error": f"the model card {file} is not a JSON object"}


def summary_line(name: str, card: Card) -> str:
    """One line for a model list: what it is, when, from what, how well."""
    if card.get("error"):
        return str(card["error"])
    if name == DEFAULT_MODEL or card.get("kind") != "personal":
        return "bundled: learned from people's opinions (BIQ2021) and framing pairs (models/README.md)"
    labels = card.get("labels", {})
    sources = ", ".join(f"{n} {s}" for s, n in labels.get("sources", {}).items())
    text = f"{str(card.get('date', '?'))[:10]}; {labels.get('total', 0)} labels ({sources})"
    a = card.get("heldout_agreement")
    if a:
        text += (f"; held out ({a['n']} photos): accuracy {a['accuracy']:.0%} (default {a['default_accuracy']:.0%}), "
                 f"pairwise {a['auc']:.0%} (default {a['default_auc']:.0%})")
    else:
        text += "; held-out agreement not measured"
    return text


class UnknownModelError(ValueError):
    """`--model NAME` names no model the app has."""


class StaleModelError(UnknownModelError):
    """A personal model trained on embeddings this version no longer makes: it must be retrained."""


def available_models() -> dict[str, Path]:
    """Model names the user can pass to --model: the bundled default plus personal models."""
    found = {DEFAULT_MODEL: paths.bundled_models_dir() / DEFAULT_HEAD_FILE}
    for file in sorted(paths.user_models_dir().glob("*.pt")):
        found.setdefault(file.stem, file)
    return found


def retrain_command(name: str, card: Card) -> str:
    """The command that trains `name` again on the labels it was trained on (as far as its card says)."""
    retrain = card.get("retrain") or {}
    words = ["selfie-desk", "train", *retrain.get("folders", [])]
    if retrain.get("likes"):
        words += ["--likes", retrain["likes"]]
    words += ["--name", name, "--replace"]
    return " ".join(shlex.quote(w) for w in words)


def head_backbone(card: Card) -> str:
    """The embedding layout a head expects (heads without the field: the first one, the last layer alone)."""
    return str(card.get("backbone_id", OLD_BACKBONE_ID))


def name_problem(name: str) -> str | None:
    """Why `name` cannot name a personal model, or None when it can."""
    if name == DEFAULT_MODEL:
        return "'default' is the bundled model's name; choose another"
    if not NAME_RE.match(name or ""):
        return (f"model name {name!r}: use 1-64 letters, digits, '-', '_' or '.', starting with a letter "
                "or digit")
    return None
