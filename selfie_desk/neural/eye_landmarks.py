"""Eye landmarks per detected face, without torch: where MediaPipe's face mesh and iris networks look (the
crops, cut with Pillow), and what their outputs mean in the photo's pixels. The networks themselves run in
torch (``selfie_desk.neural.eyes``) or in the CPU runtime (``selfie_desk.neural.runtime``), each a subclass of
``EyeLandmarker`` that only says how to run them; the crops, and so the verdicts, are the same in both.

The scoring pass cuts each eye's iris crop (64 px, 2.3x the eye's corner span) straight from the detector's
two eye points, with the span and centre the face mesh gives on average (calibrated by
``tools/eyes_eval.py --calibrate``), and runs only the iris network's lid head: the subject's left eye
mirrored (the network knows one eye), every eye of a batch in one batch. MediaPipe's own pipeline (a 1.5x,
eye-line-levelled 192 px face crop through the mesh for 468 points, the eye crops from its corners) is kept as
``mesh=True``: ~2.5x the time, the same verdicts on the evaluation set (models/README.md). What the points mean
for open or closed eyes is decided in ``selfie_desk.core.measures.eyes``.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from selfie_desk.core.crop.geometry import as_box
from selfie_desk.core.measures.eyes import EyeLandmarks
from selfie_desk.core.measures.face import Face

MESH_FILE = "face_mesh.pth"
IRIS_FILE = "iris_landmark.pth"
MESH_SIZE = 192
IRIS_SIZE = 64
MESH_SCALE = 1.5  # MediaPipe's face ROI: 1.5x the detection box, square
IRIS_SCALE = 2.3  # MediaPipe's eye ROI: 2.3x the eye-corner span, square
# Face mesh indices of each eye's corners (outer, inner): the subject's right eye is on the image's left.
RIGHT_EYE_CORNERS = (33, 133)
LEFT_EYE_CORNERS = (263, 362)
# The direct path's eye crops, cut from RetinaFace's two eye points with no face mesh: the eye's corner span
# and its corners' midpoint (outward along the eye line, down across it) in units of the distance between the
# two eye points, the medians of the mesh's own corners on the tuning half (tools/eyes_eval.py --calibrate).
EYE_SPAN_PER_DISTANCE = 0.453
EYE_CENTRE_OUT = 0.016
EYE_CENTRE_DOWN = 0.017


def _roi_matrix(centre: np.ndarray, side: float, angle: float, size: int, mirror: bool = False) -> np.ndarray:
    """3x3 matrix taking crop pixels (0..size) to image pixels for a square ROI rotated by ``angle``."""
    c, s = math.cos(angle), math.sin(angle)
    k = side / size
    fx = -k if mirror else k
    return np.array(
        [
            [c * fx, -s * k, centre[0] - (c * fx * size / 2 - s * k * size / 2)],
            [s * fx, c * k, centre[1] - (s * fx * size / 2 + c * k * size / 2)],
            [0.0, 0.0, 1.0],
        ]
    )


def crop(image: Image.Image, m: np.ndarray, size: int) -> np.ndarray:
    """The ROI of matrix ``m`` resampled to ``size`` px (antialiased when it shrinks), HxWx3 uint8."""
    scale = math.hypot(m[0, 0], m[1, 0])  # image pixels per crop pixel
    corners = m @ np.array([[0, size, 0, size], [0, 0, size, size], [1, 1, 1, 1]], dtype=np.float64)
    x0, y0 = np.floor(corners[:2].min(axis=1)).astype(int) - 1
    x1, y1 = np.ceil(corners[:2].max(axis=1)).astype(int) + 1
    region = image.crop((int(x0), int(y0), int(x1), int(y1)))  # out-of-image parts come back black
    shrink = 1.0
    if scale > 1.5:  # reduce first so the bilinear warp below does not alias
        shrink = scale
        region = region.resize(
            (max(1, round(region.width / shrink)), max(1, round(region.height / shrink))), Image.Resampling.BOX
        )
    # Crop pixel -> region pixel; Image.transform wants that inverse mapping (output -> input).
    to_region = np.array([[1 / shrink, 0, -x0 / shrink], [0, 1 / shrink, -y0 / shrink], [0, 0, 1]]) @ m
    coeffs = tuple(to_region[:2].reshape(-1))
    out = region.transform((size, size), Image.Transform.AFFINE, coeffs, resample=Image.Resampling.BILINEAR)
    return np.asarray(out, dtype=np.uint8)


def eye_crop_side(face: Face) -> float:
    """The side of the direct path's iris crops for ``face``, in its own pixels."""
    (rx, ry), (lx, ly) = face.landmarks[0], face.landmarks[1]
    return IRIS_SCALE * EYE_SPAN_PER_DISTANCE * max(math.hypot(lx - rx, ly - ry), 1.0)


def transform_points(m: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ m[:2, :2].T + m[:2, 2]


class EyeLandmarker:
    """Eye landmarks of the faces of photos: the crops and the geometry here, the networks in a subclass
    (``run_mesh``, ``run_iris``: uint8 N x S x S x 3 crops in, float32 numpy arrays out)."""

    def run_mesh(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """192 px face crops -> (N x 1404 mesh coordinates in crop pixels, N x 1 face-presence logits)."""
        raise NotImplementedError

    def run_iris(self, crops: np.ndarray, iris_points: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """64 px eye crops -> (N x 213 eye and brow contours, N x 15 iris points or None without `iris_points`)."""
        raise NotImplementedError

    @staticmethod
    def face_rois(faces: list[Face]) -> list[np.ndarray]:
        """Crop-to-photo matrices of each face's mesh input: 1.5x its box, square, the eye line level."""
        rois = []
        for face in faces:
            (rx, ry), (lx, ly) = face.landmarks[0], face.landmarks[1]
            angle = math.atan2(ly - ry, lx - rx)
            x0, y0, x1, y1 = face.box
            centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
            rois.append(_roi_matrix(centre, MESH_SCALE * max(x1 - x0, y1 - y0), angle, MESH_SIZE))
        return rois

    @staticmethod
    def eye_rois(mesh: np.ndarray) -> list[np.ndarray]:
        """Crop-to-photo matrices of one face's two iris inputs (right eye, then the left one mirrored)."""
        rois = []
        for (outer, inner), mirror in ((RIGHT_EYE_CORNERS, False), (LEFT_EYE_CORNERS, True)):
            a, b = (mesh[outer], mesh[inner]) if not mirror else (mesh[inner], mesh[outer])
            angle = math.atan2(b[1] - a[1], b[0] - a[0])
            span = max(abs(b[0] - a[0]), abs(b[1] - a[1]))  # MediaPipe: the corners' box, square-long
            rois.append(_roi_matrix((a + b) / 2, IRIS_SCALE * max(span, 1.0), angle, IRIS_SIZE, mirror))
        return rois

    @staticmethod
    def direct_eye_rois(face: Face) -> list[np.ndarray]:
        """The two iris inputs cut straight from the detector's eye points (no face mesh): centred where the
        mesh puts the eye corners' midpoint on average, 2.3x the average corner span, turned with the eye line."""
        r, left = np.asarray(face.landmarks[0], np.float64), np.asarray(face.landmarks[1], np.float64)
        d = max(float(np.linalg.norm(left - r)), 1.0)
        e = (left - r) / d
        down = np.array([-e[1], e[0]])
        angle = math.atan2(e[1], e[0])
        side = eye_crop_side(face)
        rois = []
        for point, outward, mirror in ((r, -e, False), (left, e, True)):
            centre = point + d * (EYE_CENTRE_OUT * outward + EYE_CENTRE_DOWN * down)
            rois.append(_roi_matrix(centre, side, angle, IRIS_SIZE, mirror))
        return rois

    def landmarks(self, image: Image.Image | np.ndarray, faces: list[Face], mesh: bool = False) -> list[EyeLandmarks]:
        """Eye landmarks of each face (in the order given), in pixels of ``image`` (RGB, PIL or HxWx3 uint8).

        All the faces' eyes go through the iris network in one batch (``landmarks_of_photos``)."""
        return self.landmarks_of_photos([image], [faces], mesh=mesh)[0]

    def landmarks_of_photos(
        self, images: list[Image.Image | np.ndarray], faces: list[list[Face]], mesh: bool = False,
        iris_points: bool = True,
    ) -> list[list[EyeLandmarks]]:
        """``landmarks`` for several photos at once (each face in its own photo's pixels), every eye of every
        photo in one iris batch (the scoring pass's batch of photos).

        By default the eye crops are cut from the detector's eye points and ``presence`` is the detector's
        confidence; ``mesh`` runs MediaPipe's face mesh first and cuts them from its eye corners, as MediaPipe
        does (the first version: ~2.5x the time, the same verdicts, models/README.md). Without ``iris_points``
        the iris network's iris head is skipped (eye state needs only the lids) and the iris points are empty."""
        owners = [(pil, face) for image, found in zip(images, faces, strict=True) if found
                  for pil in [_rgb(image)] for face in found]
        if not owners:
            return [[] for _ in images]
        all_faces = [face for _, face in owners]
        if mesh:
            face_m = self.face_rois(all_faces)
            batch = np.stack([crop(pil, m, MESH_SIZE) for (pil, _), m in zip(owners, face_m, strict=True)])
            mesh_raw, flag = self.run_mesh(batch)
            mesh_px = mesh_raw.reshape(len(all_faces), 468, 3)[..., :2]
            presence = [float(p) for p in 1 / (1 + np.exp(-flag[:, 0].astype(np.float64)))]
            meshes = [transform_points(m, pts).astype(np.float32) for m, pts in zip(face_m, mesh_px, strict=True)]
            eye_m = [m for points in meshes for m in self.eye_rois(points)]
        else:
            presence = [face.confidence for face in all_faces]
            meshes = [np.zeros((0, 2), np.float32) for _ in all_faces]
            eye_m = [m for face in all_faces for m in self.direct_eye_rois(face)]

        eye_crops = [crop(owners[k // 2][0], m, IRIS_SIZE) for k, m in enumerate(eye_m)]
        contours, iris_raw = self.run_iris(np.stack(eye_crops), iris_points)
        if iris_raw is not None:
            iris = iris_raw.reshape(-1, 5, 3)[..., :2]
        else:
            iris = np.zeros((len(eye_crops), 0, 2), np.float32)
        contours = contours.reshape(-1, 71, 3)[..., :2]

        flat = []
        for i, face in enumerate(all_faces):
            r, left = 2 * i, 2 * i + 1
            flat.append(
                EyeLandmarks(
                    face_box=as_box(face.box),
                    presence=presence[i],
                    mesh=meshes[i],
                    right_eye=transform_points(eye_m[r], contours[r]).astype(np.float32),
                    left_eye=transform_points(eye_m[left], contours[left]).astype(np.float32),
                    right_iris=transform_points(eye_m[r], iris[r]).astype(np.float32),
                    left_iris=transform_points(eye_m[left], iris[left]).astype(np.float32),
                )
            )
        out, k = [], 0
        for found in faces:
            out.append(flat[k : k + len(found)])
            k += len(found)
        return out


def _rgb(image: Image.Image | np.ndarray) -> Image.Image:
    pil = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image, dtype=np.uint8))
    return pil if pil.mode == "RGB" else pil.convert("RGB")
