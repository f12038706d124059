"""Real sharp and blurred photos, labelled by eye here, for the sharpness aspect and the "soft focus" badge.

The folders are ../shared/real's (their SOURCE.md: where each photo comes from, its terms). ``soft`` is what a
person would say looking at the photo on a screen: 1 the subject (the face where there is one) is visibly
blurred (motion, camera shake, missed focus), 0 it is sharp (a sharp subject in front of a blurred background
included), None unclear (left out). The series are split in two: ``tune`` photos may set thresholds and be
learned from; ``check`` photos are used for no choice and reported apart.
"""

from __future__ import annotations

# DAVIS frames (davis_video_bursts/frames/<series>/<NN>.jpg): judged on the subject (the DAVIS mask's box, at
# native size) by eye; frames not listed are unclear (moderate motion on a limb, a small soft subject).
DAVIS_SOFT = {
    "motocross-jump": {2: 1, 3: 1, 4: 1, 5: 1, 1: 0, 6: 0, 7: 0, 8: 0},
    "drift-straight": {1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1, 7: 0, 8: 0},
    "kite-surf": {1: 1, 2: 1, 4: 0, 5: 0, 6: 0, 7: 0, 8: 0},
    "breakdance": {3: 0, 4: 0, 7: 0, 8: 0},
    **{name: {k: 0 for k in range(1, 9)} for name in (
        "parkour", "tennis", "car-roundabout", "car-shadow", "cows", "camel", "blackswan", "scooter-black")},
}
# series used for no choice (reported apart)
DAVIS_CHECK = ("drift-straight", "tennis", "car-shadow", "camel", "scooter-black")
TRIPLET_CHECK_SCENES = (20, 50, 180)
BURSTS_SOFT = {  # bursts/<series>/<NN>.jpg and singles
    "video_bedroom_kids": {k: 1 for k in range(1, 7)},  # every face smeared by motion (the example)
    "horses_jump_2014": {k: 0 for k in range(1, 5)},
    "horses_ice_2015": {k: 0 for k in range(1, 5)},
    "bracket_desktop": {k: 0 for k in range(1, 6)},
}
BURSTS_CHECK = ("video_bedroom_kids", "horses_jump_2014", "bracket_desktop")
SINGLES_SOFT = {"singles/sam2_cars.jpg": 0, "singles/sam2_groceries.jpg": 0, "singles/imageio_kodim03.jpg": 0}


def label(source: str, name: str, extra: dict | None = None) -> tuple[int | None, str]:
    """(soft label or None, "tune" or "check") of a photo of a cached source, by its name in that source."""
    if source == "davis":
        series, frame = name.split("/")[-2], int(name.split("/")[-1].split(".")[0])
        return DAVIS_SOFT.get(series, {}).get(frame), "check" if series in DAVIS_CHECK else "tune"
    if source == "triplets":  # NNN_DEVICE_{S,F,M}.jpg: the photographer's own labels
        scene, kind = int(name.split("_")[0]), name.rsplit("_", 1)[1][0]
        return (0 if kind == "S" else 1), "check" if scene in TRIPLET_CHECK_SCENES else "tune"
    if source == "singles":  # labels.csv's should_get_soft_badge: all six used for no choice
        soft = (extra or {}).get(name)
        return soft, "check"
    if source == "bursts":
        if name in SINGLES_SOFT:
            return SINGLES_SOFT[name], "tune"
        series, frame = name.split("/")[0], int(name.split("/")[1].split(".")[0])
        return BURSTS_SOFT.get(series, {}).get(frame), "check" if series in BURSTS_CHECK else "tune"
    return None, "tune"


def singles_labels(folder: str) -> dict[str, int | None]:
    """blur_real_singles/labels.csv's should_get_soft_badge as 1 / 0 / None (unclear)."""
    import csv
    from pathlib import Path

    out: dict[str, int | None] = {}
    with open(Path(folder) / "labels.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            out[r["file"].split("/", 1)[1]] = {"yes": 1, "no": 0}.get(r["should_get_soft_badge"])
    return out
