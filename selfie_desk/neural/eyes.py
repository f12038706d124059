"""Eye landmarks per detected face: MediaPipe's face mesh and iris networks, rebuilt in plain PyTorch.

The weights come from the Apache-2.0 ``mediapipe==0.10.21`` wheel (``face_landmark.tflite``,
``iris_landmark.tflite``), converted once by ``tools/convert_mediapipe_eyes.py`` into ``models/face_mesh.pth``
and ``models/iris_landmark.pth``. Both networks are written below as a list of operations named after the
TFLite tensors, so the conversion is a rename checked shape by shape, and the converted networks match
the TFLite runtime to ~1e-4 px (``tools/mediapipe_eyes_check.py``).

The scoring pass cuts each eye's iris crop (64 px, 2.3x the eye's corner span) straight from the detector's
two eye points, with the span and centre the face mesh gives on average (calibrated by
``tools/eyes_eval.py --calibrate``), and runs only the iris network's lid head: the subject's left eye
mirrored (the network knows one eye), every eye of a batch in one batch. MediaPipe's own pipeline (a 1.5x,
eye-line-levelled 192 px face crop through the mesh for 468 points, the eye crops from its corners) is kept as
``mesh=True``: ~2.5x the time, the same verdicts on the evaluation set (models/README.md). What the points mean
for open or closed eyes is decided in ``selfie_desk.core.eyes``, without torch.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from selfie_desk.core import weights
from selfie_desk.core.crop_geometry import as_box
from selfie_desk.core.eyes import EyeLandmarks
from selfie_desk.core.face import Face

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

# One operation per entry, named after the TFLite tensor it produces:
#   ("conv", name, src, cin, cout, kernel, stride, padding, prelu name or None)
#   ("dw", name, src, channels, stride)                      depthwise 3x3, SAME padding
#   ("res", prelu name, src, branch, cin, cout, stride)      prelu(skip(src) + branch); the skip is
#       identity, or 2x2 max-pooling when stride 2, zero-padded in channels when cout > cin
Op = tuple


def _mesh_ops() -> list[Op]:
    ops: list[Op] = [("conv", "conv2d_1", "input", 3, 16, 3, 2, "same", "p_re_lu_1")]

    def blaze(src: str, i_dw: int, i_pw: int, i_act: int, cin: int, cout: int, stride: int) -> str:
        dw, pw, act = f"depthwise_conv2d_{i_dw}", f"conv2d_{i_pw}", f"p_re_lu_{i_act}"
        ops.extend([("dw", dw, src, cin, stride), ("conv", pw, dw, cin, cout, 1, 1, "same", None)])
        ops.append(("res", act, src, pw, cin, cout, stride))
        return act

    x = "p_re_lu_1"
    chans = [(16, 16, 1), (16, 16, 1), (16, 32, 2), (32, 32, 1), (32, 32, 1), (32, 64, 2), (64, 64, 1), (64, 64, 1)]
    chans += [(64, 128, 2), (128, 128, 1), (128, 128, 1), (128, 128, 2), (128, 128, 1), (128, 128, 1)]
    for k, (cin, cout, stride) in enumerate(chans, start=1):
        x = blaze(x, k, k + 1, k + 1, cin, cout, stride)
    trunk = x  # p_re_lu_15, 6 x 6
    x = blaze(trunk, 15, 16, 16, 128, 128, 2)
    x = blaze(x, 16, 17, 17, 128, 128, 1)
    x = blaze(x, 17, 18, 18, 128, 128, 1)
    ops.append(("conv", "conv2d_19", x, 128, 32, 1, 1, "same", "p_re_lu_19"))
    x = blaze("p_re_lu_19", 18, 20, 20, 32, 32, 1)
    ops.append(("conv", "conv2d_21", x, 32, 1404, 3, 3, "valid", None))
    x = blaze(trunk, 23, 28, 26, 128, 128, 2)
    ops.append(("conv", "conv2d_29", x, 128, 32, 1, 1, "same", "p_re_lu_27"))
    x = blaze("p_re_lu_27", 24, 30, 28, 32, 32, 1)
    ops.append(("conv", "conv2d_31", x, 32, 1, 3, 3, "valid", None))
    return ops


def _iris_ops() -> list[Op]:
    ops: list[Op] = [("conv", "conv2d", "input", 3, 64, 3, 2, "same", "p_re_lu")]
    counter = {"conv": 1, "dw": 0}

    def block(src: str, cin: int, cout: int, stride: int) -> str:
        c1, c2, dw = counter["conv"], counter["conv"] + 1, counter["dw"]
        counter["conv"] += 2
        counter["dw"] += 1
        mid = cin // 2 if stride == 1 else 64  # a 1x1 halving, or a 2x2 stride-2 reduction to 64
        kernel = 1 if stride == 1 else 2
        ops.append(("conv", f"conv2d_{c1}", src, cin, mid, kernel, stride, "same", f"p_re_lu_{c1}"))
        dwn = "depthwise_conv2d" if dw == 0 else f"depthwise_conv2d_{dw}"
        ops.append(("dw", dwn, f"p_re_lu_{c1}", mid, 1))
        ops.append(("conv", f"conv2d_{c2}", dwn, mid, cout, 1, 1, "same", None))
        ops.append(("res", f"p_re_lu_{c2}", src, f"conv2d_{c2}", cin, cout, stride))
        return f"p_re_lu_{c2}"

    x = "p_re_lu"
    for _ in range(4):
        x = block(x, 64, 64, 1)
    x = block(x, 64, 128, 2)
    for _ in range(4):
        x = block(x, 128, 128, 1)
    trunk = block(x, 128, 128, 2)  # p_re_lu_20, 8 x 8
    for head in ("conv_eyes_contours_and_brows", "conv_iris"):
        x = trunk
        for stride in (1, 1, 2, 1, 1, 2, 1, 1):
            x = block(x, 128, 128, stride)
        outputs = 213 if head == "conv_eyes_contours_and_brows" else 15
        ops.append(("conv", head, x, 128, outputs, 2, 1, "valid", None))
    return ops


def _tf_same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TensorFlow's SAME padding: the odd pixel goes at the bottom/right (PyTorch pads symmetrically)."""
    h, w = x.shape[-2:]
    ph = max((math.ceil(h / stride) - 1) * stride + kernel - h, 0)
    pw = max((math.ceil(w / stride) - 1) * stride + kernel - w, 0)
    if ph == 0 and pw == 0:
        return x
    return F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))


class TfliteGraph(nn.Module):
    """A MediaPipe-style network (convolutions, depthwise convolutions, PReLU, max-pool residuals) from ops."""

    def __init__(self, ops: list[Op], outputs: tuple[str, ...]) -> None:
        super().__init__()
        self.ops = ops
        self.outputs = outputs
        self.conv = nn.ModuleDict()
        self.prelu = nn.ModuleDict()
        # SAME padding of a 3x3 stride-1 convolution is symmetric: done inside the convolution (no pad copy);
        # 1x1 convolutions and 2x2 stride-2 ones on even sizes need none; only stride-2 3x3 ones pad unevenly.
        self.padded_inside: set[str] = set()
        self._needed: dict[tuple[str, ...], list[Op]] = {}
        for op in ops:
            if op[0] == "conv":
                _, name, _, cin, cout, kernel, stride, padding, act = op
                inside = padding == "same" and kernel == 3 and stride == 1
                self.conv[name] = nn.Conv2d(cin, cout, kernel, stride=stride, padding=int(inside), bias=True)
                if inside:
                    self.padded_inside.add(name)
                if act:
                    self.prelu[act] = nn.PReLU(cout)
            elif op[0] == "dw":
                _, name, _, chans, stride = op
                self.conv[name] = nn.Conv2d(chans, chans, 3, stride=stride, padding=int(stride == 1), groups=chans,
                                            bias=True)
                if stride == 1:
                    self.padded_inside.add(name)
            else:
                self.prelu[op[1]] = nn.PReLU(op[5])

    def needed(self, outputs: tuple[str, ...]) -> list[Op]:
        """The operations ``outputs`` depend on, in order (the iris network's iris head is not needed for eye
        state: leaving it out saves ~8 % of the network's multiply-adds)."""
        made_by: dict[str, Op] = {}
        for op in self.ops:
            made_by[op[1]] = op
            if op[0] == "conv" and op[8]:
                made_by[op[8]] = op
        keep: set[str] = set()
        todo = list(outputs)
        while todo:
            name = todo.pop()
            maker = made_by.get(name)
            if maker is None or maker[1] in keep:
                continue
            keep.add(maker[1])
            todo.extend([maker[2], maker[3]] if maker[0] == "res" else [maker[2]])
        return [op for op in self.ops if op[1] in keep]

    def forward(self, x: torch.Tensor, outputs: tuple[str, ...] | None = None) -> tuple[torch.Tensor, ...]:
        """Float RGB in [0, 1], (N, 3, H, W) -> each output flattened to (N, C); all outputs unless named."""
        values = {"input": x}
        inside = self.padded_inside
        if outputs is None:
            ops = self.ops
        else:
            ops = self._needed.get(outputs) or self._needed.setdefault(outputs, self.needed(outputs))
        for op in ops:
            if op[0] == "conv":
                _, name, src, _, _, kernel, stride, padding, act = op
                same = padding == "same" and name not in inside
                inp = _tf_same_pad(values[src], kernel, stride) if same else values[src]
                out = self.conv[name](inp)
                values[name] = out
                if act:
                    values[act] = self.prelu[act](out)
            elif op[0] == "dw":
                _, name, src, _, stride = op
                inp = values[src] if name in inside else _tf_same_pad(values[src], 3, stride)
                values[name] = self.conv[name](inp)
            else:
                _, act, src, branch, cin, cout, stride = op
                skip = values[src]
                if stride == 2:
                    skip = F.max_pool2d(skip, 2, 2)
                if cout > cin:
                    skip = F.pad(skip, (0, 0, 0, 0, 0, cout - cin))
                values[act] = self.prelu[act](skip + values[branch])
        return tuple(values[name].flatten(1) for name in (self.outputs if outputs is None else outputs))


def face_mesh_net() -> TfliteGraph:
    """The mesh network: 192 px face -> 468 x (x, y, z) in crop pixels, and a face-presence logit."""
    return TfliteGraph(_mesh_ops(), ("conv2d_21", "conv2d_31"))


def iris_net() -> TfliteGraph:
    """The iris network: 64 px left-eye crop -> 71 x (x, y, z) eye and brow contour, 5 x (x, y, z) iris."""
    return TfliteGraph(_iris_ops(), ("conv_eyes_contours_and_brows", "conv_iris"))


def _load(net: TfliteGraph, path: Path) -> TfliteGraph:
    state = torch.load(Path(path), map_location="cpu", weights_only=True)
    net.load_state_dict(state, strict=True)
    net.requires_grad_(False)
    return net.eval()


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


def to_batch(crops: list[np.ndarray], device: torch.device) -> torch.Tensor:
    """HxWx3 uint8 crops -> float (N, 3, H, W) in [0, 1], channels_last (the networks' layout: 1.2-1.5x faster
    on this CPU than NCHW, outputs within 1e-4 of it)."""
    arr = np.stack(crops).astype(np.float32) / 255.0
    return torch.from_numpy(arr).permute(0, 3, 1, 2).to(device)  # the permuted NHWC array is channels_last


def transform_points(m: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ m[:2, :2].T + m[:2, 2]


class EyeLandmarker:
    """Both networks, on one device; ``landmarks`` runs them on every face of one photo."""

    def __init__(self, mesh: TfliteGraph, iris: TfliteGraph, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        # Module.to takes a device with memory_format (torch._C._nn._parse_to); torch's overloads omit the pair
        self.mesh = mesh.to(self.device, memory_format=torch.channels_last)  # type: ignore[call-overload]
        self.iris = iris.to(self.device, memory_format=torch.channels_last)  # type: ignore[call-overload]

    @classmethod
    def from_files(
        cls, mesh_path: Path | None = None, iris_path: Path | None = None, device: torch.device | str = "cpu"
    ) -> EyeLandmarker:
        """Load the converted weights; the bundled ones (SHA-256 checked) unless paths are given.

        A missing file raises ``selfie_desk.core.weights.ModelMissingError`` naming it.
        """
        mesh_path = Path(mesh_path) if mesh_path else weights.bundled_file(MESH_FILE)
        iris_path = Path(iris_path) if iris_path else weights.bundled_file(IRIS_FILE)
        for path in (mesh_path, iris_path):
            if not path.is_file():
                raise weights.ModelMissingError(f"model file {path} is missing (see models/README.md)")
        return cls(_load(face_mesh_net(), mesh_path), _load(iris_net(), iris_path), device)

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

    @torch.inference_mode()
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
            batch = to_batch([crop(pil, m, MESH_SIZE) for (pil, _), m in zip(owners, face_m, strict=True)],
                              self.device)
            mesh_raw, flag = self.mesh(batch)
            mesh_px = mesh_raw.float().cpu().numpy().reshape(len(all_faces), 468, 3)[..., :2]
            presence = [float(p) for p in torch.sigmoid(flag.float()).cpu().numpy()[:, 0]]
            meshes = [transform_points(m, pts).astype(np.float32) for m, pts in zip(face_m, mesh_px, strict=True)]
            eye_m = [m for points in meshes for m in self.eye_rois(points)]
        else:
            presence = [face.confidence for face in all_faces]
            meshes = [np.zeros((0, 2), np.float32) for _ in all_faces]
            eye_m = [m for face in all_faces for m in self.direct_eye_rois(face)]

        eye_crops = [crop(owners[k // 2][0], m, IRIS_SIZE) for k, m in enumerate(eye_m)]
        eyes_in = to_batch(eye_crops, self.device)
        if iris_points:
            contours, iris_raw = self.iris(eyes_in)
            iris = iris_raw.float().cpu().numpy().reshape(-1, 5, 3)[..., :2]
        else:
            (contours,) = self.iris(eyes_in, self.iris.outputs[:1])
            iris = np.zeros((len(eye_crops), 0, 2), np.float32)
        contours = contours.float().cpu().numpy().reshape(-1, 71, 3)[..., :2]

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
