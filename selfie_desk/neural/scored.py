"""What scoring a batch of photos gives, and the parts of it that need no network runtime: each face's eyes and
focus from the landmarks, and the inputs of photos already in memory. Both scorers (torch's, `model.Scorer`, and
the CPU runtime's, `runtime.scorer.RuntimeScorer`) share them, so they differ only in how the networks run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image

from selfie_desk.core.measures import look
from selfie_desk.core.measures.embedding import CHECK_AT, face_input, model_input
from selfie_desk.core.measures.eyes import MIN_EYE_WIDTH_PX
from selfie_desk.core.measures.face import Face
from selfie_desk.core.measures.face_check import FaceCheck, check_face, face_check_values
from selfie_desk.neural.eye_landmarks import EYE_SPAN_PER_DISTANCE, IRIS_SIZE, EyeLandmarker, eye_crop_side


@dataclass(frozen=True)
class Scored:
    score: float
    embedding: np.ndarray  # float32, FEATURE_DIM: what the catalog stores and every head on it reads
    faces: list[Face]  # in the coordinates of the face-detector input given for this photo
    aspects: dict[str, float]
    checks: list[FaceCheck] = field(default_factory=list)  # each face's eyes and sharpness, as `faces`


# A face whose eyes the detector's points make narrower than this (in detail pixels) is unknown ("too small")
# without running the eye network: the rule says so of any eye under MIN_EYE_WIDTH_PX, and no eye of the 2,125
# evaluation faces had a lid contour wider than 1.04x the calibrated span (tools/eyes_eval.py, models/README.md).
TOO_SMALL_EYE_PX = 0.8 * MIN_EYE_WIDTH_PX


def finish(scored: Sequence[Scored], checks: Sequence[Sequence[FaceCheck]],
           rescore: Callable[[np.ndarray], np.ndarray]) -> list[Scored]:
    """Each photo with its faces' checks: written into its embedding (``embedding.CHECK_NAMES``) and, where they
    say something, its score made again from it by `rescore` (the scorer's head on N x FEATURE_DIM embeddings),
    so that closed eyes count in the score (and in every sort by it). Both scorers' ``finish``."""
    out = []
    rows, embs = [], []
    for i, (s, c) in enumerate(zip(scored, checks, strict=True)):
        values = face_check_values(s.faces, c)
        if values.any():
            emb = s.embedding.copy()
            emb[CHECK_AT : CHECK_AT + len(values)] = values
            rows.append(i)
            embs.append(emb)
        out.append(replace(s, checks=list(c)))
    if rows:
        new = rescore(np.stack(embs))
        for i, emb, score in zip(rows, embs, new, strict=True):
            out[i] = replace(out[i], embedding=emb, score=float(score))
    return out


def check_faces(eyes: EyeLandmarker, looks: Sequence[look.Look], faces: list[list[Face]],
                face_sizes: list[tuple[int, int]]) -> list[list[FaceCheck]]:
    """Each face's eyes and sharpness, on the detail decode the looks hold (native resolution up to
    look.DETAIL_EDGE: no second decode), all faces of the batch through the eye networks at once.

    Each face's eyes are cut out (one region around both) reduced as far as their iris crops stay at the
    network's input size (a 500 px face needs no 500 px crop to make 64 px eyes: rebuilding the
    full-resolution colour of the whole face cost 180 ms a photo); the sharpness is measured on the
    full-resolution luma."""
    images: list[Image.Image | np.ndarray] = []
    local: list[list[Face]] = []
    placed: list[tuple[int, int, int]] = []  # (reduction, x0, y0) of each face's crop
    measured: set[int] = set()  # the faces (by id) sent to the eye network
    in_detail: list[list[Face]] = []
    for lk, found, (fw, fh) in zip(looks, faces, face_sizes, strict=True):
        h, w = lk.detail_gray.shape
        scaled = [f.scaled(w / fw, h / fh) for f in found]
        in_detail.append(scaled)
        for f in scaled:
            eyes_xy = np.array(f.landmarks[:2], dtype=np.float64)
            if EYE_SPAN_PER_DISTANCE * float(np.linalg.norm(eyes_xy[1] - eyes_xy[0])) < TOO_SMALL_EYE_PX:
                continue  # unknown (too small) without the network's cost: group shots have many such faces
            side = eye_crop_side(f)
            reach = 0.75 * side  # an eye crop's half-diagonal, turned up to 45 degrees, and its offset
            x0, y0 = eyes_xy.min(axis=0) - reach
            x1, y1 = eyes_xy.max(axis=0) + reach
            k = max(1, int(side / IRIS_SIZE))
            image, (ox, oy) = lk.detail_rgb((x0, y0, x1, y1), k)
            images.append(image)
            local.append([f.shifted(-ox, -oy).scaled(1 / k, 1 / k)])
            placed.append((k, ox, oy))
            measured.add(id(f))
    marks = [m[0] for m in eyes.landmarks_of_photos(images, local, iris_points=False)] if images else []
    out: list[list[FaceCheck]] = []
    n = 0
    for lk, found in zip(looks, in_detail, strict=True):
        row = []
        for f in found:
            if id(f) not in measured:
                row.append(check_face(lk.detail_gray, f.box, None))
                continue
            k, ox, oy = placed[n]
            row.append(check_face(lk.detail_gray, f.box, marks[n].mapped(k, ox, oy)))
            n += 1
        out.append(row)
    return out


def inputs_of_images(images: Sequence[Image.Image], face_edge: int
                     ) -> tuple[list[look.Look], np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """Photos already in memory, each at its own (detail) resolution, as the pass would make them from a
    decode of that size: (looks, model inputs N x 224 x 224 x 3, face inputs N x h x w x 3 zero-padded at
    right and bottom, each face input's real (width, height))."""
    looks = [look.Look(im.convert("RGB")) for im in images]
    model_in = np.stack([model_input(lk.held_view()) for lk in looks])
    face_in = [face_input(lk.held_view(), face_edge) for lk in looks]
    return looks, model_in, *stack_faces(face_in)


def stack_faces(face_in: Sequence[np.ndarray]) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Face-detector inputs of different sizes, zero-padded at right and bottom into one uint8 N x h x w x 3."""
    h = max(f.shape[0] for f in face_in)
    w = max(f.shape[1] for f in face_in)
    batch = np.zeros((len(face_in), h, w, 3), np.uint8)
    for i, f in enumerate(face_in):
        batch[i, : f.shape[0], : f.shape[1]] = f
    return batch, [(f.shape[1], f.shape[0]) for f in face_in]
