"""The score models a user can choose and their cards, read without loading torch (the window lists them
on its own thread; `selfie-desk models` answers at once).

The bundled default's card is models/score_head.json; a personal model's is NAME.json beside NAME.pt in
the app's data folder (selfie_desk.core.taste writes both).
"""

from __future__ import annotations

import json
from pathlib import Path

from selfie_desk.core import paths

DEFAULT_MODEL = "default"
DEFAULT_CARD_FILE = "score_head.json"
# The parts of the default's card worth listing (the rest is the list of training photos).
DEFAULT_CARD_KEYS = ("name", "version", "date", "backbone", "head", "input", "validation", "test", "pairs_heldout",
                     "aspects_heldout", "heldout_group_gap")


def model_cards() -> dict[str, tuple[Path, dict]]:
    """name -> (model file, card), the bundled default first. An unreadable card reads as {"error": why}."""
    out: dict[str, tuple[Path, dict]] = {}
    bundled = paths.bundled_models_dir()
    card = _read(bundled / DEFAULT_CARD_FILE)
    out[DEFAULT_MODEL] = (bundled / "score_head.pt", {k: v for k, v in card.items() if k in DEFAULT_CARD_KEYS
                                                      or k == "error"})
    for file in sorted(paths.user_models_dir().glob("*.pt")):
        if file.stem not in out:
            out[file.stem] = (file, _read(file.with_suffix(".json")))
    return out


def _read(file: Path) -> dict:
    try:
        card = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {"error": f"cannot read the model card {file}: {exc}"}
    return card if isinstance(card, dict) else {"error": f"the model card {file} is not a JSON object"}


def summary_line(name: str, card: dict) -> str:
    """One line for a model list: what it is, when, from what, how well."""
    if card.get("error"):
        return card["error"]
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
