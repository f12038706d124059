"""Eye state on real faces: accuracy, false alarms on open eyes, unknown rate and speed (models/README.md).

Reproducible: the split is a hash of the file name (``blake2b(name)[0] % 2``: 0 tunes the thresholds, 1 is
the held-out test set, never looked at for a choice). Sources, labelled by where they come from:

- open eyes: ``--portraits``, the Pixabay portraits of ../shared/photos/portraits (mostly open eyes; the
  ones of the tuning half that the rule called closed were looked at by eye: see ``OPEN_LABEL_FIXES``);
- closed eyes: ``--closed``, the 1,192 face crops of Closed Eyes in the Wild (CEW, Song et al. 2014) as
  stored in the public repository jesusmartinoza/Open-eyes-using-Pix2Pix (folder closed_eyes_dataset/).
  Its terms (research use) were not established, so it measures the rule and sets nothing: ``--fit-open``
  reads open portraits of the tuning half only. The rule before this one (``PREVIOUS_LID_MODEL``, fitted
  partly on CEW) is reported beside the current one in every run, on the same measurements.

Each photo is padded by 30 % of its size (CEW crops are cut at the face), RetinaFace finds the faces, the
largest is measured. Measurements are cached (``--cache``) so that both rules and ``--fit-open`` rerun
without the networks::

    .venv/bin/python tools/eyes_eval.py --portraits ../shared/photos/portraits \\
        --closed PATH/closed_eyes_dataset --cache /tmp/eyes_cache.json [--fit-open]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from selfie_desk.core import weights
from selfie_desk.core.measures import eyes as rule
from selfie_desk.core.measures.face import Face
from selfie_desk.neural.eyes import LEFT_EYE_CORNERS, RIGHT_EYE_CORNERS, EyeLandmarker
from selfie_desk.neural.faces import FaceDetector

ROOT = Path(__file__).resolve().parents[1]


PAD = 0.3
# The rule before the open-eyes-only one (a3ca8d2..this branch): a logistic model of "closed" on the 14 lid
# heights, fitted on the tuning half's portraits AND Closed Eyes in the Wild faces; kept here only to be
# compared with, never shipped again (CEW's terms).
PREVIOUS_LID_MODEL = {
    "weights": [1.644, 2.746, 3.188, 2.56, 1.429, 0.459, 0.233, -1.593, -3.364, -5.714, -7.483, -7.51, -4.913,
                -1.605],
    "bias": 4.574, "closed_logit": 1.0, "open_logit": -0.5, "min_eye_width_px": 10.0,
}
# Tuning-half portraits that a first fit called closed, looked at by eye: 3 have their eyes closed, 8 look
# down with lowered lids, 1 wears mirrored sunglasses. "down" and "hidden" leave the open/closed figures (the
# issue wants those unknown; they are counted apart). The test half is NOT corrected this way: its figures
# count such faces as false alarms, so they are pessimistic.
OPEN_LABEL_FIXES: dict[str, str] = {
    "woman-person-1053543_1280.jpg": "closed",
    "woman-person-864804_1280.jpg": "closed",
    "man-man-890880_1280.jpg": "closed",
    "man-business-4078830_1280.jpg": "down",
    "man-learn-3588135_1280.jpg": "down",
    "man-man-6388639_1280.jpg": "down",
    "man-man-7144282_1280.jpg": "down",
    "woman-portrait-7088969_1280.jpg": "down",
    "woman-woman-2537564_1280 (1).jpg": "down",
    "woman-woman-7875524_1280.jpg": "down",
    "woman-woman-9279766_1280.jpg": "down",
    "man-african-man-7442929_1280.jpg": "hidden",
}


def split(name: str) -> str:
    return "tune" if hashlib.blake2b(name.encode()).digest()[0] % 2 == 0 else "test"


def _padded(path: Path) -> Image.Image:
    image = Image.open(path).convert("RGB")
    return ImageOps.expand(image, border=round(PAD * max(image.size)), fill=(128, 128, 128))


def detect(paths: list[Path], label: str, detector: FaceDetector, edge: int | None = None) -> list[dict]:
    """The largest face RetinaFace finds in each padded photo (box, confidence, five points), or none; with
    ``edge``, found on the photo reduced to that long edge as the scoring pass does (coarser points)."""
    rows = []
    for path in paths:
        image = _padded(path)
        small = image.copy()
        if edge:
            small.thumbnail((edge, edge), Image.Resampling.BILINEAR)
        t = torch.from_numpy(np.array(small)).permute(2, 0, 1)[None]
        found = detector.detect(t, [small.size], threshold=0.5)[0]
        faces = [f.scaled(image.width / small.width, image.height / small.height) for f in found]
        row = {"name": path.name, "path": str(path), "label": label, "split": split(path.name), "found": bool(faces)}
        if faces:
            face = max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
            row["face"] = {"box": list(face.box), "confidence": face.confidence,
                           "landmarks": [list(p) for p in face.landmarks]}
            row["face_px"] = max(face.box[2] - face.box[0], face.box[3] - face.box[1])
        rows.append(row)
    return rows


def _face(row: dict) -> Face:
    f = row["face"]
    return Face(tuple(f["box"]), f["confidence"], tuple(tuple(p) for p in f["landmarks"]))  # type: ignore[arg-type]


def measure(rows: list[dict], landmarker: EyeLandmarker, mesh: bool) -> list[dict]:
    """Each found face's lid contours, by the pass's direct path or (``mesh``) through the face mesh first."""
    out = []
    for row in rows:
        row = dict(row)
        if row["found"]:
            image = _padded(Path(row["path"]))
            t0 = time.perf_counter()
            lm = landmarker.landmarks_of_photos([image], [[_face(row)]], mesh=mesh)[0][0]
            row["seconds"] = time.perf_counter() - t0
            row["landmarks"] = {
                "presence": lm.presence,
                "right_eye": lm.right_eye[:16].tolist(),
                "left_eye": lm.left_eye[:16].tolist(),
                "right_iris": lm.right_iris.tolist(),
                "left_iris": lm.left_iris.tolist(),
            }
        out.append(row)
    return out


def calibrate(rows: list[dict], landmarker: EyeLandmarker) -> None:
    """Where the face mesh puts each eye's corners, relative to RetinaFace's eye points (tuning half only):
    the medians are the direct path's EYE_SPAN_PER_DISTANCE, EYE_CENTRE_OUT and EYE_CENTRE_DOWN."""
    span, out, down = [], [], []
    for row in rows:
        if not row["found"] or row["split"] != "tune":
            continue
        face = _face(row)
        lm = landmarker.landmarks_of_photos([_padded(Path(row["path"]))], [[face]], mesh=True)[0][0]
        if lm.presence < rule.MIN_PRESENCE:
            continue
        r, left = np.array(face.landmarks[0]), np.array(face.landmarks[1])
        d = float(np.linalg.norm(left - r))
        e = (left - r) / d
        n = np.array([-e[1], e[0]])
        for point, corners, outward in ((r, RIGHT_EYE_CORNERS, -e), (left, LEFT_EYE_CORNERS, e)):
            a, b = lm.mesh[corners[0]], lm.mesh[corners[1]]
            off = (a + b) / 2 - point
            span.append(float(np.linalg.norm(a - b)) / d)
            out.append(float(off @ outward) / d)
            down.append(float(off @ n) / d)
    q = [25, 50, 75]
    print(f"calibrated on {len(span) // 2} tuning-half faces (quartiles):")
    print("  EYE_SPAN_PER_DISTANCE", np.round(np.percentile(span, q), 3).tolist())
    print("  EYE_CENTRE_OUT", np.round(np.percentile(out, q), 3).tolist())
    print("  EYE_CENTRE_DOWN", np.round(np.percentile(down, q), 3).tolist())


def landmarks_of(row: dict) -> rule.EyeLandmarks:
    lm = row["landmarks"]
    pad = np.zeros((71, 2), np.float32)
    right, left = pad.copy(), pad.copy()
    right[:16], left[:16] = lm["right_eye"], lm["left_eye"]
    empty = np.zeros((5, 2), np.float32)
    return rule.EyeLandmarks((0, 0, 0, 0), lm["presence"], np.zeros((468, 2)), right, left, empty, empty)


def lid_heights(contour: np.ndarray, mirrored: bool) -> np.ndarray:
    """The 14 lid points' heights above the corner-to-corner line, in eye widths, "up" positive (the previous
    rule's input; ``mirrored`` for the subject's left eye, so both eyes share one frame)."""
    c = np.asarray(contour, dtype=np.float64)[:16]
    outer, inner = c[0], c[8]
    width = float(np.linalg.norm(inner - outer))
    if width <= 0:
        return np.zeros(14)
    e = (inner - outer) / width
    up = np.array([-e[1], e[0]]) if mirrored else np.array([e[1], -e[0]])
    v = (c - outer) @ up / width
    return np.concatenate([v[1:8], v[9:16]])


def previous_state(lm: rule.EyeLandmarks) -> str:
    """The previous rule's verdict: the same unknown conditions (its 10 px floor), then the lid model."""
    m = PREVIOUS_LID_MODEL
    wr, wl = rule.eye_width(lm.right_eye), rule.eye_width(lm.left_eye)
    if lm.presence < rule.MIN_PRESENCE or max(wr, wl) < m["min_eye_width_px"]:
        return "unknown"
    if 1.0 - min(wr, wl) / max(wr, wl, 1e-6) > rule.MAX_TURN:
        return "unknown"
    logits = [float(lid_heights(c, mirrored) @ np.array(m["weights"]) + m["bias"])
              for c, mirrored in ((lm.right_eye, False), (lm.left_eye, True))]
    if min(logits) >= m["closed_logit"]:
        return "closed"
    if max(logits) <= m["open_logit"]:
        return "open"
    return "unknown"


def verdicts(rows: list[dict], previous: bool = False) -> list[str]:
    def one(r: dict) -> str:
        if not r["found"]:
            return "unknown"
        return previous_state(landmarks_of(r)) if previous else rule.eye_state(landmarks_of(r)).state.value

    return [one(r) for r in rows]


def report(rows: list[dict], title: str) -> dict:
    """The current rule's figures and, beside them, the previous rule's on the same faces."""
    figures = {}
    for name, previous in (("current", False), ("previous", True)):
        states = verdicts(rows, previous)
        opened = [s for r, s in zip(rows, states, strict=True) if r["label"] == "open"]
        closed = [s for r, s in zip(rows, states, strict=True) if r["label"] == "closed"]
        decided_ok = sum(s == "open" for s in opened) + sum(s == "closed" for s in closed)
        decided = sum(s != "unknown" for s in opened + closed)
        n = len(opened) + len(closed)
        figures[name] = {
            "faces open / closed": f"{len(opened)} / {len(closed)}",
            "accuracy on decided faces": decided_ok / max(decided, 1),
            "accuracy, unknown counted wrong": decided_ok / max(n, 1),
            "false alarms (open called closed)": sum(s == "closed" for s in opened) / max(len(opened), 1),
            "missed blinks (closed called open)": sum(s == "open" for s in closed) / max(len(closed), 1),
            "unknown, open faces": sum(s == "unknown" for s in opened) / max(len(opened), 1),
            "unknown, closed faces": sum(s == "unknown" for s in closed) / max(len(closed), 1),
            "no face found": sum(not r["found"] for r in rows) / max(len(rows), 1),
        }
    print(f"== {title}: {'openness rule (open eyes only)':>32s} {'previous (lid model, CEW-fitted)':>34s}")
    for key, value in figures["current"].items():
        old = figures["previous"][key]
        cells = [v if isinstance(v, str) else f"{v:.3f}" for v in (value, old)]
        print(f"  {key:38s} {cells[0]:>12s} {cells[1]:>34s}")
    for label in ("open", "closed"):
        why = [rule.eye_state(landmarks_of(r)).reason for r in rows if r["label"] == label and r["found"]]
        why = [w for w in why if not w.startswith("both eyes")]
        n = sum(r["label"] == label for r in rows)
        print(f"  why unknown, {label} faces (openness rule): "
              + ", ".join(f"{w} {why.count(w) / max(n, 1):.3f}" for w in sorted(set(why), key=why.count, reverse=True)))
    return figures


def _usable(r: dict) -> bool:
    """Faces the rule would judge at all (size, turn, face score), whatever their eyes' openness."""
    lm = landmarks_of(r)
    wr, wl = rule.eye_width(lm.right_eye), rule.eye_width(lm.left_eye)
    return (
        max(wr, wl) >= rule.MIN_EYE_WIDTH_PX
        and lm.presence >= rule.MIN_PRESENCE
        and 1.0 - min(wr, wl) / max(wr, wl, 1e-6) <= rule.MAX_TURN
    )


def open_tuning_faces(rows: list[dict]) -> list[dict]:
    """The faces the cut-offs are set from: open-eyed portraits of the tuning half the rule would judge.
    Nothing labelled closed, nothing of the test half, nothing of Closed Eyes in the Wild."""
    return [r for r in rows if r["label"] == "open" and r["split"] == "tune" and r["found"] and _usable(r)
            and not r["name"].startswith("closed_eye")]


def openness(rows: list[dict]) -> np.ndarray:
    """(n, 2): each face's right and left eye openness (lid gap / width)."""
    return np.array([[rule.aspect_ratio(landmarks_of(r).right_eye), rule.aspect_ratio(landmarks_of(r).left_eye)]
                     for r in rows])


def fit_open(rows: list[dict], out: Path | None = None) -> None:
    """Set the rule's two cut-offs from open eyes alone and print them (selfie_desk/core/measures/eyes.py holds them);
    with ``out``, store those faces' openness figures (numbers only) for tests/test_eyes.py."""
    faces = open_tuning_faces(rows)
    values = openness(faces)
    closed_below, open_from = rule.openness_cutoffs(values)
    q = [0.5, 1, 2, 5, 10, 25, 50]
    print(f"open faces of the tuning half, judged by the rule: {len(faces)}")
    print(f"  wider eye's openness, percentiles {q}: {np.round(np.percentile(values.max(1), q), 4).tolist()}")
    print(f"  narrower eye's: {np.round(np.percentile(values.min(1), q), 4).tolist()}")
    print(f"CLOSED_BELOW = {closed_below}\nOPEN_FROM = {open_from}"
          f"  (now in the rule: {rule.CLOSED_BELOW}, {rule.OPEN_FROM})")
    if out:
        out.write_text(json.dumps({
            "source": "tools/eyes_eval.py --fit-open: the tuning half's open-eyed Pixabay portraits "
                      "(../shared/photos/portraits), [right, left] eye openness per face",
            "openness": values.round(5).tolist(),
        }, indent=0))
        print(f"wrote {out}")


def write_test_landmarks(rows: list[dict], names: list[str], path: Path) -> None:
    """Lid contours for tests/test_eyes.py (numbers only, no photo): the astronaut's (kept from ``path`` when
    there, else measured) and those of the named portraits; Closed Eyes in the Wild faces are refused."""
    old = json.loads(path.read_text()) if path.is_file() else {}
    if "astronaut" not in old:
        detector = FaceDetector.from_file(weights.bundled_file("retinaface_mobilenet0.25.pth"))
        image = Image.open(ROOT / "resources" / "demo" / "astronaut.png").convert("RGB")
        t = torch.from_numpy(np.array(image)).permute(2, 0, 1)[None]
        lm = EyeLandmarker.from_files().landmarks(image, detector.detect(t, [image.size])[0][:1])[0]
        old["astronaut"] = {"presence": lm.presence, "right_eye": lm.right_eye[:16].round(3).tolist(),
                            "left_eye": lm.left_eye[:16].round(3).tolist()}
    out = {"astronaut": old["astronaut"]}
    for name in names:
        if name.startswith("closed_eye"):
            raise SystemExit(f"{name}: a Closed Eyes in the Wild face; only licensed portraits are stored")
        (row,) = [r for r in rows if r["name"] == name]
        lm = row["landmarks"]
        out[name] = {"source": f"Pixabay portrait {name} ({row['split']} half), labelled {row['label']} by eye",
                     "label": row["label"], "presence": lm["presence"],
                     "right_eye": np.round(lm["right_eye"], 3).tolist(),
                     "left_eye": np.round(lm["left_eye"], 3).tolist()}
    path.write_text(json.dumps(out, indent=1))
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portraits", type=Path, required=True)
    parser.add_argument("--closed", type=Path, required=True)
    parser.add_argument("--faces", type=Path, help="JSON file of the detected faces, reused when present")
    parser.add_argument("--detect-edge", type=int, help="find the faces at this long edge (the pass: 384)")
    parser.add_argument("--cache", type=Path, help="JSON file of measurements, reused when present")
    parser.add_argument("--mesh", action="store_true",
                        help="cut the eye crops from the face mesh (the first version) instead of RetinaFace's points")
    parser.add_argument("--calibrate", action="store_true",
                        help="print where the mesh puts the eye corners relative to RetinaFace's points (tuning half)")
    parser.add_argument("--fit-open", nargs="?", const="", metavar="OUT",
                        help="set the cut-offs from the tuning half's open faces alone; with OUT, store their "
                             "openness figures (tests/data/eyes_open_tuning.json)")
    parser.add_argument("--write-test-landmarks", nargs="+", metavar=("PATH", "PORTRAIT"),
                        help="store the lid contours of the astronaut and the named portraits in PATH")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # the machine is shared: one thread gives steadier timings

    if args.cache and args.cache.is_file():
        rows = json.loads(args.cache.read_text())
    else:
        if args.faces and args.faces.is_file():
            found = json.loads(args.faces.read_text())
        else:
            detector = FaceDetector.from_file(weights.bundled_file("retinaface_mobilenet0.25.pth"))
            found = detect(sorted(args.portraits.glob("*.jpg")), "open", detector, args.detect_edge)
            found += detect(sorted(args.closed.glob("*.jpg")), "closed", detector, args.detect_edge)
            if args.faces:
                args.faces.write_text(json.dumps(found))
        landmarker = EyeLandmarker.from_files()
        if args.calibrate:
            calibrate(found, landmarker)
            return 0
        rows = measure(found, landmarker, args.mesh)
        if args.cache:
            args.cache.write_text(json.dumps(rows))
    rows = [replace_label(r) for r in rows]
    aside = [r for r in rows if r["label"] not in ("open", "closed")]
    if aside:
        states = verdicts(aside)
        print(f"set aside (tuning half, looking down or sunglasses): {len(aside)}, called "
              f"{dict((s, states.count(s)) for s in sorted(set(states)))}")
    rows = [r for r in rows if r["label"] in ("open", "closed")]

    seconds = [r["seconds"] for r in rows if "seconds" in r]
    if seconds:
        print(f"landmarks: median {1000 * np.median(seconds):.1f} ms per face (one face per call, 1 thread, "
              f"{len(seconds)} faces; includes the crops)")
    tune_rows = [r for r in rows if r["split"] == "tune"]
    if args.fit_open is not None:
        fit_open(tune_rows, Path(args.fit_open) if args.fit_open else None)
    if args.write_test_landmarks:
        write_test_landmarks(rows, args.write_test_landmarks[1:], Path(args.write_test_landmarks[0]))
    report(tune_rows, "tuning half (cut-offs set on its open faces)")
    report([r for r in rows if r["split"] == "test"], "held-out test half (used for no choice)")
    return 0


def replace_label(row: dict) -> dict:
    fix = OPEN_LABEL_FIXES.get(row["name"])
    return {**row, "label": fix} if fix else row


if __name__ == "__main__":
    raise SystemExit(main())
