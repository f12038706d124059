"""Eye landmarks per detected face: MediaPipe's face mesh and iris networks, rebuilt in plain PyTorch.

The weights come from the Apache-2.0 ``mediapipe==0.10.21`` wheel (``face_landmark.tflite``,
``iris_landmark.tflite``), converted once by ``tools/convert_mediapipe_eyes.py`` into ``models/face_mesh.pth``
and ``models/iris_landmark.pth``. Both networks are written below as a list of operations named after the
TFLite tensors, so the conversion is a rename checked shape by shape, and the converted networks match
the TFLite runtime to ~1e-4 px (``tools/mediapipe_eyes_check.py``).

Where the crops are cut and what the outputs mean is ``selfie_desk.neural.eye_landmarks`` (torch-free, shared
with the CPU runtime, which runs these networks as ONNX graphs exported from the modules here).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from selfie_desk.core import weights
from selfie_desk.neural import eye_landmarks
from selfie_desk.neural.eye_landmarks import (
    EYE_CENTRE_DOWN,
    EYE_CENTRE_OUT,
    EYE_SPAN_PER_DISTANCE,
    IRIS_FILE,
    IRIS_SCALE,
    IRIS_SIZE,
    LEFT_EYE_CORNERS,
    MESH_FILE,
    MESH_SCALE,
    MESH_SIZE,
    RIGHT_EYE_CORNERS,
    crop,
    eye_crop_side,
    transform_points,
)

# the names moved to eye_landmarks, still read from here by the tools and the tests
__all__ = ["EYE_CENTRE_DOWN", "EYE_CENTRE_OUT", "EYE_SPAN_PER_DISTANCE", "IRIS_FILE", "IRIS_SCALE", "IRIS_SIZE",
           "LEFT_EYE_CORNERS", "MESH_FILE", "MESH_SCALE", "MESH_SIZE", "RIGHT_EYE_CORNERS", "EyeLandmarker",
           "TfliteGraph", "crop", "eye_crop_side", "face_mesh_net", "iris_net", "to_batch", "transform_points"]

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


def to_batch(crops: list[np.ndarray], device: torch.device) -> torch.Tensor:
    """HxWx3 uint8 crops -> float (N, 3, H, W) in [0, 1], channels_last (the networks' layout: 1.2-1.5x faster
    on this CPU than NCHW, outputs within 1e-4 of it)."""
    arr = np.stack(crops).astype(np.float32) / 255.0
    return torch.from_numpy(arr).permute(0, 3, 1, 2).to(device)  # the permuted NHWC array is channels_last


class EyeLandmarker(eye_landmarks.EyeLandmarker):
    """Both networks in torch, on one device; ``landmarks`` runs them on every face of one photo."""

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

    @torch.inference_mode()
    def run_mesh(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mesh, flag = self.mesh(to_batch(list(crops), self.device))
        return mesh.float().cpu().numpy(), flag.float().cpu().numpy()

    @torch.inference_mode()
    def run_iris(self, crops: np.ndarray, iris_points: bool) -> tuple[np.ndarray, np.ndarray | None]:
        batch = to_batch(list(crops), self.device)
        if iris_points:
            contours, iris = self.iris(batch)
            return contours.float().cpu().numpy(), iris.float().cpu().numpy()
        (contours,) = self.iris(batch, self.iris.outputs[:1])
        return contours.float().cpu().numpy(), None
