"""Eye state on real faces: accuracy, false alarms on open eyes, unknown rate and speed (models/README.md).

Reproducible: the split is a hash of the file name (``blake2b(name)[0] % 2``: 0 tunes the thresholds, 1 is
the held-out test set, never looked at for a choice). Sources, labelled by where they come from:

- open eyes: ``--portraits``, the Pixabay portraits of ../shared/photos/portraits (mostly open eyes; the
  ones of the tuning half that the rule called closed were looked at by eye: see ``OPEN_LABEL_FIXES``);
- closed eyes: ``--closed``, the 1,192 face crops of Closed Eyes in the Wild (CEW, Song et al. 2014) as
  stored in the public repository jesusmartinoza/Open-eyes-using-Pix2Pix (folder closed_eyes_dataset/).

Each photo is padded by 30 % of its size (CEW crops are cut at the face), RetinaFace finds the faces, the
largest is measured. Measurements are cached (``--cache``) so that ``--tune`` can sweep thresholds quickly::

    .venv/bin/python tools/eyes_eval.py --portraits ../shared/photos/portraits \\
        --closed PATH/closed_eyes_dataset --cache /tmp/eyes_cache.json [--fit]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from selfie_desk.core import eyes as rule  # noqa: E402
from selfie_desk.core import weights  # noqa: E402
from selfie_desk.core.face import Face  # noqa: E402
from selfie_desk.neural.eyes import LEFT_EYE_CORNERS, RIGHT_EYE_CORNERS, EyeLandmarker  # noqa: E402
from selfie_desk.neural.faces import FaceDetector  # noqa: E402

PAD = 0.3
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


def verdicts(rows: list[dict]) -> list[str]:
    return [rule.eye_state(landmarks_of(r)).state.value if r["found"] else "unknown" for r in rows]


def report(rows: list[dict], title: str) -> dict:
    states = verdicts(rows)
    opened = [s for r, s in zip(rows, states, strict=True) if r["label"] == "open"]
    closed = [s for r, s in zip(rows, states, strict=True) if r["label"] == "closed"]
    decided_ok = sum(s == "open" for s in opened) + sum(s == "closed" for s in closed)
    decided = sum(s != "unknown" for s in opened + closed)
    n = len(opened) + len(closed)
    out = {
        "faces open / closed": f"{len(opened)} / {len(closed)}",
        "accuracy on decided faces": decided_ok / max(decided, 1),
        "accuracy, unknown counted wrong": decided_ok / max(n, 1),
        "false alarms (open called closed)": sum(s == "closed" for s in opened) / max(len(opened), 1),
        "missed blinks (closed called open)": sum(s == "open" for s in closed) / max(len(closed), 1),
        "unknown, open faces": sum(s == "unknown" for s in opened) / max(len(opened), 1),
        "unknown, closed faces": sum(s == "unknown" for s in closed) / max(len(closed), 1),
        "no face found": sum(not r["found"] for r in rows) / max(len(rows), 1),
    }
    print(f"== {title}")
    for key, value in out.items():
        print(f"  {key:38s} {value if isinstance(value, str) else f'{value:.3f}'}")
    return out


def _usable(r: dict) -> bool:
    """Faces the rule would judge at all (size, turn, face score), whatever the logit says."""
    lm = landmarks_of(r)
    wr, wl = rule.eye_width(lm.right_eye), rule.eye_width(lm.left_eye)
    return (
        max(wr, wl) >= rule.MIN_EYE_WIDTH_PX
        and lm.presence >= rule.MIN_PRESENCE
        and 1.0 - min(wr, wl) / max(wr, wl, 1e-6) <= rule.MAX_TURN
    )


def fit(rows: list[dict], lam: float = 1.0) -> None:
    """Fit the closed-eye logistic model on the tuning half and sweep its two cut-offs there.

    One sample per eye (the face's label for both), ridge penalty ``lam`` on the weights, Newton steps.
    Prints the constants that selfie_desk/core/eyes.py holds.
    """
    usable = [r for r in rows if r["found"] and _usable(r)]
    x = np.array(
        [rule.lid_heights(landmarks_of(r).right_eye, False) for r in usable]
        + [rule.lid_heights(landmarks_of(r).left_eye, True) for r in usable]
    )
    y = np.array([r["label"] == "closed" for r in usable] * 2, dtype=np.float64)
    x1 = np.c_[x, np.ones(len(x))]
    w = np.zeros(x1.shape[1])
    penalty = lam * np.diag(np.r_[np.ones(x.shape[1]), 0.0])
    for _ in range(50):
        p = 1 / (1 + np.exp(-x1 @ w))
        w -= np.linalg.solve((x1 * (p * (1 - p))[:, None]).T @ x1 + penalty, x1.T @ (p - y) + penalty @ w)
    print(f"fitted on {len(usable)} usable faces of the tuning half")
    print("CLOSED_WEIGHTS =", np.round(w[:-1], 3).tolist())
    print("CLOSED_BIAS =", round(float(w[-1]), 3))
    print("open_logit closed_logit  false_alarms missed unknown_open unknown_closed (tuning half, usable faces)")
    for lo in (-2.0, -1.0, -0.5, 0.0):
        for hi in (0.0, 0.5, 1.0, 2.0):
            st = []
            for r in usable:
                lm = landmarks_of(r)
                la = float(rule.lid_heights(lm.right_eye, False) @ w[:-1] + w[-1])
                lb = float(rule.lid_heights(lm.left_eye, True) @ w[:-1] + w[-1])
                st.append((r["label"], "closed" if min(la, lb) >= hi else "open" if max(la, lb) <= lo else "?"))
            no = sum(lab == "open" for lab, _ in st)
            nc = len(st) - no
            print(
                f"  {lo:5.1f} {hi:5.1f}   {sum(a == 'open' and b == 'closed' for a, b in st) / no:.3f}"
                f"  {sum(a == 'closed' and b == 'open' for a, b in st) / nc:.3f}"
                f"  {sum(a == 'open' and b == '?' for a, b in st) / no:.3f}"
                f"  {sum(a == 'closed' and b == '?' for a, b in st) / nc:.3f}"
            )


def write_test_landmarks(rows: list[dict], closed_name: str, path: Path) -> None:
    """The astronaut's and one CEW face's lid contours, for tests/test_eyes.py (numbers only, no photo)."""
    detector = FaceDetector.from_file(weights.bundled_file("retinaface_mobilenet0.25.pth"))
    image = Image.open(ROOT / "resources" / "demo" / "astronaut.png").convert("RGB")
    t = torch.from_numpy(np.array(image)).permute(2, 0, 1)[None]
    lm = EyeLandmarker.from_files().landmarks(image, detector.detect(t, [image.size])[0][:1])[0]
    (closed,) = [r for r in rows if r["name"] == closed_name]
    out = {
        "astronaut": {"presence": lm.presence, "right_eye": lm.right_eye[:16].round(3).tolist(),
                      "left_eye": lm.left_eye[:16].round(3).tolist()},
        "cew_closed": {"source": f"CEW {closed_name}", **closed["landmarks"]},
    }
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
    parser.add_argument("--fit", action="store_true", help="fit the model and sweep its cut-offs on the tuning half")
    parser.add_argument("--write-test-landmarks", nargs=2, metavar=("CEW_NAME", "PATH"))
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
    if args.fit:
        fit(tune_rows)
    if args.write_test_landmarks:
        write_test_landmarks(rows, args.write_test_landmarks[0], Path(args.write_test_landmarks[1]))
    report(tune_rows, "tuning half (thresholds chosen here)")
    report([r for r in rows if r["split"] == "test"], "held-out test half")
    return 0


def replace_label(row: dict) -> dict:
    fix = OPEN_LABEL_FIXES.get(row["name"])
    return {**row, "label": fix} if fix else row


if __name__ == "__main__":
    raise SystemExit(main())
