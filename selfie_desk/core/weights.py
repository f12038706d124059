"""Model files: where they are, and a clear error (not a traceback) when one is missing or corrupt."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from selfie_desk.core import paths

# name -> SHA-256 of the file under models/ (also written in models/README.md)
BUNDLED = {
    "mobilenet_v2-b0353104.pth": "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889",
    "retinaface_mobilenet0.25.pth": "1060628e94989788f9c68d6f8560f9d69ced6dc614c36a7202a5bf1d4ed89b43",
    "face_mesh.pth": "960319f0f3802f74c5f5d80694c220be51e55e0ab31987db4e11bce04d323a32",
    "iris_landmark.pth": "ae130240540b21e93212b3bdecb94ee28e702680a06dfb04717967c88d245694",
    "score_head.pt": "de91cdd5fca93e0a0b69c9954c0981390d75692ab4cc083d31a10f78c57fd826",
    "dlib_face_recognition_resnet_model_v1.dat": "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
    "shape_predictor_5_face_landmarks.dat": "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
    "crop_head.pt": "ed0b99ef132db82bc6adef8290cbe60c9baac6e352ae9ed5132d688162a56ab4",
    "backbone.onnx": "fe1c8f51e860251015aa0f832c167cbc5e1577c046b63b668f582ed607a9bdcf",
    "retinaface.onnx": "ed38da6727ca80fe4b2a8604d4cd9ac31cc6ac14e54f3a94978cd7d249091ec0",
    "eye_lids.onnx": "a96e859badc5b958c84ff41d5ac85967104aa00554e61958736b4d3fe33be28f",
    "iris_landmark.onnx": "9f2455032f73bbba5a547b9ab8e121d477db2992e4f3222f0473c7a40b237243",
    "face_mesh.onnx": "caf60c9911da739d12bc22b7d06e262ca5f6d3d528a1285d9b37542b830db7b6",
    "composition.onnx": "c97e62b53605779eced11adaebcc8139db29d60f8c745d1be293dc5ba737ecb8",
}


class ModelMissingError(RuntimeError):
    """A model file the app needs is absent or damaged; the message says which and where."""


@cache
def _sha256(path: Path, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def bundled_file(name: str) -> Path:
    """Path of a bundled model file, checked against its recorded SHA-256."""
    folder = paths.bundled_models_dir()
    path = folder / name
    if not path.is_file():
        raise ModelMissingError(
            f"model file {name} is missing from {folder}; reinstall Selfie Desk or restore models/ "
            "from the repository (see models/README.md)"
        )
    expected = BUNDLED.get(name)
    if expected is not None:
        st = path.stat()
        if _sha256(path, st.st_size, st.st_mtime_ns) != expected:
            raise ModelMissingError(f"model file {path} is damaged (SHA-256 mismatch); restore it from models/")
    return path
