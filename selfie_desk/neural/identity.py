"""Who a face is: dlib's ResNet face descriptor, 128 values in which two faces of one person lie within about 0.6
of each other (Euclidean) and two people further apart; core/culling/people.py matches the faces of a shoot by it to
find its key people. The offline face-embedding model that installs here: the weights are the two CC0 files of PyPI's
`face-recognition-models` 0.3.0 copied into models/ (models/README.md: licence, source, SHA-256), run by the
`dlib-bin` 20.0.1 wheel (Boost licence); facenet-pytorch and insightface fetch their weights at run time, and
`arcface` 0.0.8 ships none.

Each face is cut from the pass's detail decode (native resolution up to 2000 px, no second decode), reduced so the
face is about 110 px wide (dlib aligns it to a 150 px chip), its five landmarks found by dlib's own 5-point model
inside the detector's box, then described. Measured on this 2-core VM (one thread): about 125 ms of CPU a face
(docs/benchmarks.md), so only faces large enough to tell (eyes at least MIN_EYE_DISTANCE_PX apart in the detail
image) and at most MAX_FACES a photo, the largest, are described; the others get None (too small to tell).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from selfie_desk.core import weights
from selfie_desk.core.measures.face import Face

MODEL_FILE = "dlib_face_recognition_resnet_model_v1.dat"
LANDMARKS_FILE = "shape_predictor_5_face_landmarks.dat"
MIN_EYE_DISTANCE_PX = 16.0  # eye centres apart in the detail image; a face below this is too small to tell apart
MAX_FACES = 8  # the largest faces of a photo described; a crowd's small faces are nobody's key people
CHIP_FACE_PX = 110  # the face's width in the crop handed to dlib (its aligned chip is 150 px with padding)


class FaceIdentifier:
    """dlib's landmark and descriptor models, loaded once; `describe` is thread-safe (one call at a time)."""

    def __init__(self, landmarks_path: Path, model_path: Path) -> None:
        import dlib  # a compiled module: imported here so that nothing else pays for it

        self._dlib = dlib
        self._shape = dlib.shape_predictor(str(landmarks_path))
        self._net = dlib.face_recognition_model_v1(str(model_path))
        self._lock = threading.Lock()

    @classmethod
    def from_files(cls, landmarks_path: Path | None = None, model_path: Path | None = None) -> FaceIdentifier:
        """The bundled models (SHA-256 checked) unless paths are given; a missing file raises
        core.weights.ModelMissingError naming it."""
        landmarks_path = Path(landmarks_path) if landmarks_path else weights.bundled_file(LANDMARKS_FILE)
        model_path = Path(model_path) if model_path else weights.bundled_file(MODEL_FILE)
        for path in (landmarks_path, model_path):
            if not path.is_file():
                raise weights.ModelMissingError(f"model file {path} is missing (see models/README.md)")
        return cls(landmarks_path, model_path)

    def describe(self, image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
        """The descriptor of the face in `box` (pixels of `image`, RGB uint8 HxWx3)."""
        dlib = self._dlib
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        with self._lock:
            shape = self._shape(image, dlib.rectangle(x0, y0, x1, y1))
            vec = self._net.compute_face_descriptor(image, shape, 0, 0.25)
        # Read by index, never by iteration: iterating dlib's vector ends with an IndexError raised from C++, and
        # on the window's scoring thread that path hung for good: gdb showed the thread inside _dlib_pybind11's
        # exception handling, in PyEval_AcquireThread, waiting for the GIL it already held (np.asarray(vec) here;
        # tools/screenshots.py's burst, on main too). Indexing within len(vec) raises nothing.
        return np.array([vec[i] for i in range(len(vec))], np.float32)


def pick(faces: Sequence[Face], min_eye_distance: float = MIN_EYE_DISTANCE_PX, most: int = MAX_FACES) -> set[int]:
    """Which of `faces` (pixels of the image they are described in) are large enough to describe: the `most`
    largest whose eyes are at least `min_eye_distance` apart."""
    sizes = []
    for i, f in enumerate(faces):
        (rx, ry), (lx, ly) = f.landmarks[0], f.landmarks[1]
        if float(np.hypot(lx - rx, ly - ry)) >= min_eye_distance:
            sizes.append(((f.box[2] - f.box[0]) * (f.box[3] - f.box[1]), i))
    return {i for _, i in sorted(sizes, reverse=True)[:most]}


_shared: FaceIdentifier | None = None
_shared_lock = threading.Lock()


def shared() -> FaceIdentifier:
    """The process's identifier (the scoring pass's, the cluster worker's), loaded on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = FaceIdentifier.from_files()
        return _shared
