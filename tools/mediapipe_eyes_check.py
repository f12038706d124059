"""Check the converted face mesh and iris networks against the TFLite originals, run by Google's LiteRT.

Dev-only; LiteRT goes in a throwaway target folder, never in the project's venv::

    pip download mediapipe==0.10.21 ai-edge-litert==2.3.0 --no-deps -d /tmp/wheels
    python3 -m pip install --target /tmp/litert --no-deps /tmp/wheels/ai_edge_litert-2.3.0-*.whl
    unzip -j /tmp/wheels/mediapipe-0.10.21-*.whl '*/face_landmark.tflite' '*/iris_landmark.tflite' -d /tmp/mp
    PYTHONPATH=/tmp/litert .venv/bin/python tools/mediapipe_eyes_check.py /tmp/mp [--photos DIR] \\
        [--write-reference tests/data/eyes_reference.npz]

The inputs are real crops as the app makes them: each demo photo's faces (RetinaFace), their 192 px mesh
crops and 64 px eye crops, plus up to ``--limit`` photos of ``--photos``. Both runtimes get the same float
input; the script prints the largest difference of each raw output (in crop pixels for landmarks, in logits for
the face flag) and fails above ``TOLERANCE``. ``--write-reference`` stores the astronaut's crops and the LiteRT
outputs for ``tests/test_eyes.py``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from selfie_desk.core import weights
from selfie_desk.neural import eyes
from selfie_desk.neural.faces import FaceDetector

ROOT = Path(__file__).resolve().parents[1]


TOLERANCE = 1e-2  # crop pixels (of 192 or 64) / logits; float32 summation order differs between runtimes


def _litert(path: Path):
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path))
    interp.allocate_tensors()
    return interp


def _run_litert(interp, crop: np.ndarray) -> list[np.ndarray]:
    interp.set_tensor(interp.get_input_details()[0]["index"], crop[None].astype(np.float32) / 255.0)
    interp.invoke()
    return [interp.get_tensor(d["index"]).reshape(-1) for d in interp.get_output_details()]


def detect(detector: FaceDetector, image: Image.Image) -> list:
    t = torch.from_numpy(np.array(image)).permute(2, 0, 1)[None]
    return detector.detect(t, [image.size])[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tflite_dir", type=Path, help="folder with face_landmark.tflite and iris_landmark.tflite")
    parser.add_argument("--photos", type=Path, help="more photos with faces (e.g. ../shared/photos/portraits)")
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--write-reference", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(2)

    detector = FaceDetector.from_file(weights.bundled_file("retinaface_mobilenet0.25.pth"))
    lm = eyes.EyeLandmarker.from_files(ROOT / "models" / eyes.MESH_FILE, ROOT / "models" / eyes.IRIS_FILE)
    mesh_tfl = _litert(args.tflite_dir / "face_landmark.tflite")
    iris_tfl = _litert(args.tflite_dir / "iris_landmark.tflite")

    paths = sorted(p for p in (ROOT / "resources" / "demo").iterdir() if p.suffix in (".png", ".jpg"))
    if args.photos:
        paths += sorted(args.photos.glob("*.jpg"))[: args.limit]
    worst = {"mesh": 0.0, "flag": 0.0, "contours": 0.0, "iris": 0.0}
    n_faces = n_eyes = 0
    reference: dict[str, np.ndarray] = {}
    for path in paths:
        image = Image.open(path).convert("RGB")
        faces = detect(detector, image)
        for m in lm.face_rois(faces):
            crop = eyes.crop(image, m, eyes.MESH_SIZE)
            ref_mesh, ref_flag = _run_litert(mesh_tfl, crop)
            with torch.inference_mode():
                got_mesh, got_flag = (t[0].numpy() for t in lm.mesh(eyes.to_batch([crop], lm.device)))
            worst["mesh"] = max(worst["mesh"], float(np.abs(ref_mesh - got_mesh).max()))
            worst["flag"] = max(worst["flag"], float(np.abs(ref_flag - got_flag).max()))
            n_faces += 1
            mesh_px = eyes.transform_points(m, got_mesh.reshape(468, 3)[:, :2])
            eye_crops = [eyes.crop(image, em, eyes.IRIS_SIZE) for em in lm.eye_rois(mesh_px)]
            for eye_crop in eye_crops:
                ref_c, ref_i = _run_litert(iris_tfl, eye_crop)
                with torch.inference_mode():
                    got_c, got_i = (t[0].numpy() for t in lm.iris(eyes.to_batch([eye_crop], lm.device)))
                worst["contours"] = max(worst["contours"], float(np.abs(ref_c - got_c).max()))
                worst["iris"] = max(worst["iris"], float(np.abs(ref_i - got_i).max()))
                n_eyes += 1
            if path.name == "astronaut.png" and not reference:
                reference = {
                    "mesh_input": crop,
                    "mesh_output": ref_mesh,
                    "flag_output": ref_flag,
                    "iris_input": eye_crops[0],
                    "contour_output": _run_litert(iris_tfl, eye_crops[0])[0],
                    "iris_output": _run_litert(iris_tfl, eye_crops[0])[1],
                }
    print(f"{n_faces} faces, {n_eyes} eyes from {len(paths)} photos; largest |torch - LiteRT|:")
    for key, value in worst.items():
        print(f"  {key:9s} {value:.2e}")
    if args.write_reference:
        if not reference:
            raise SystemExit("no face found in astronaut.png")
        args.write_reference.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(args.write_reference, **reference)
        print(f"wrote {args.write_reference}")
    if max(worst.values()) > TOLERANCE or n_faces == 0:
        print("FAIL")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
