"""The networks the CPU runtime runs, as ONNX graphs under models/: their files, inputs and outputs, and the
torch-model files each graph is made from. Torch-free: the runtime reads this; `selfie_desk.neural.export`
(torch) makes the graphs from the torch modules, and `tools/export_onnx.py` writes them.

Every graph records, in its ONNX metadata, the SHA-256 of each weights file it was exported from (`sources`);
tests/test_runtime.py compares those with the files in the tree and each graph's outputs with its torch
module's, so a retrained or changed network whose graph was not exported again fails the tests by name.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from selfie_desk.core import paths

EXPORTER = "tools/export_onnx.py"
OPSET = 17


@dataclass(frozen=True)
class Graph:
    """One exported network: models/`file`, its input and output names (in order), and the model files under
    models/ its weights come from."""

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    sources: tuple[str, ...]
    what: str

    @property
    def file(self) -> str:
        return f"{self.name}.onnx"


# uint8 NHWC in, so that the pass hands its stacked arrays over as they are (the conversion to float and to
# NCHW is in the graph, where the runtime fuses it with the first convolution).
BACKBONE = Graph("backbone", ("images",), ("pooled", "stats", "feature_map"), ("mobilenet_v2-b0353104.pth",),
                 "MobileNetV2's trunk: the pooled last layer, the tapped stages' statistics, the feature map")
FACES = Graph("retinaface", ("images",), ("loc", "logits", "landmarks"), ("retinaface_mobilenet0.25.pth",),
              "RetinaFace-MobileNet0.25: raw box, class and landmark outputs for every anchor")
EYE_LIDS = Graph("eye_lids", ("eyes",), ("contours",), ("iris_landmark.pth",),
                 "MediaPipe's iris network, its eye-contour head only (the pass: eye state)")
IRIS = Graph("iris_landmark", ("eyes",), ("contours", "iris"), ("iris_landmark.pth",),
             "MediaPipe's iris network, both heads")
FACE_MESH = Graph("face_mesh", ("faces",), ("mesh", "presence"), ("face_mesh.pth",),
                  "MediaPipe's face mesh (the eyes' mesh=True path)")

# The crop search's 448-px pass up to the composition head's reduced map (`CompositionHead.feature_map` of MobileNetV2's
# blocks 13 and 17): its 1 x 1 convolutions come from crop_head.pt, so a retrained crop head needs this graph again;
# the head's RoIAlign, RoDAlign and layers run in numpy (`runtime.composition`) from crop_head.pt itself.
COMPOSITION = Graph("composition", ("images",), ("composition",), ("mobilenet_v2-b0353104.pth", "crop_head.pt"),
                    "MobileNetV2 to block 17 and the composition head's reduced map (the crop search's 448-px pass)")

GRAPHS: dict[str, Graph] = {g.name: g for g in (BACKBONE, FACES, EYE_LIDS, IRIS, FACE_MESH, COMPOSITION)}
# The weights only torch reads: the CPU build runs these networks from the graphs made from them and leaves them
# out (packaging/selfie_desk.spec); score_head.pt and crop_head.pt are read by the numpy heads in both builds.
TORCH_WEIGHTS = frozenset({"mobilenet_v2-b0353104.pth", "retinaface_mobilenet0.25.pth", "face_mesh.pth",
                           "iris_landmark.pth"})


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def source_digests(graph: Graph, models: Path | None = None) -> dict[str, str]:
    """What the graph's metadata must record of its weights: source file name -> SHA-256."""
    folder = models or paths.bundled_models_dir()
    return {f"source:{name}": file_sha256(folder / name) for name in graph.sources}


def with_metadata(model: bytes, entries: dict[str, str]) -> bytes:
    """`model` (a serialised ONNX ModelProto) with `entries` appended to its metadata_props (field 14: a
    repeated StringStringEntryProto of key = 1, value = 2). Protocol buffers merge repeated fields appended
    at the end, so no ONNX library is needed to write them."""

    def field(number: int, payload: bytes) -> bytes:
        return _varint(number << 3 | 2) + _varint(len(payload)) + payload

    extra = b"".join(field(14, field(1, k.encode()) + field(2, v.encode())) for k, v in sorted(entries.items()))
    return model + extra


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


class Session:
    """One graph loaded into ONNX Runtime: `run(*inputs)` -> the graph's outputs (or those named), numpy.

    Threads: `threads` intra-op threads, none spinning while idle (ORT's default spin-waits, which on a 2-core
    machine takes the decoders' core), and the graph optimised once at load (ORT_ENABLE_ALL: BatchNorm and
    activations fused, NCHWc layouts). Safe to call from several threads at once (ORT's sessions are)."""

    def __init__(self, graph: Graph, threads: int = 1, path: Path | None = None) -> None:
        import onnxruntime as ort

        from selfie_desk.core import weights

        self.graph = graph
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # warnings about unused initialisers etc. are not the user's business
        file = path or weights.bundled_file(graph.file)
        self.session = ort.InferenceSession(str(file), options, providers=["CPUExecutionProvider"])

    def run(self, *inputs: np.ndarray, outputs: tuple[str, ...] | None = None) -> list[np.ndarray]:
        feeds = dict(zip(self.graph.inputs, inputs, strict=True))
        return self.session.run(list(outputs or self.graph.outputs), feeds)

    def metadata(self) -> dict[str, str]:
        return dict(self.session.get_modelmeta().custom_metadata_map)
