"""The torch side of the CPU runtime's graphs: which torch module each graph of `runtime.graphs` is exported from,
with which example inputs, and how far the stored graph may be from it.

`tools/export_onnx.py` calls `export` for every graph (one command re-exports them all from whatever modules and
weights are in the tree); tests/test_runtime.py calls `disagreement` to fail when a stored graph and its torch
module drift apart. A new network joins by one entry in `runtime.graphs.GRAPHS` and one in `MODULES` here.
"""

from __future__ import annotations

import copy
import io
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import torch
from PIL import Image
from torch import nn

from selfie_desk.core import paths, weights
from selfie_desk.core.measures import look
from selfie_desk.core.measures.embedding import FACES_FILE, face_input, model_input
from selfie_desk.neural import composition, eyes
from selfie_desk.neural.faces import FaceDetector
from selfie_desk.neural.model import Backbone
from selfie_desk.neural.runtime import graphs
from selfie_desk.neural.runtime.graphs import Graph
from selfie_desk.neural.scored import stack_faces

Arrays = tuple[np.ndarray, ...]


class BackboneGraph(nn.Module):
    """uint8 N x H x W x 3 -> the pooled last layer, the stage statistics and the feature map (the scoring pass
    reads the first two, the crop search the last two: `Backbone.forward_with_stats`)."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = Backbone().eval()

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        fmap, stats = self.backbone.forward_with_stats(images.permute(0, 3, 1, 2))
        return Backbone.pool(fmap), stats, fmap


class CompositionGraph(nn.Module):
    """uint8 N x S x S x 3 (the photo squashed to composition.SIDE) -> the composition head's reduced map
    (`CompositionHead.feature_map` of the tapped blocks: `model.Scorer.composition_maps`, torch's crop search)."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = Backbone().eval()
        self.head = composition.load().head.eval()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        _, fine, coarse = composition.tapped_forward(self.backbone, images.permute(0, 3, 1, 2), last=False)
        return self.head.feature_map(fine.float(), coarse.float())


class FacesGraph(nn.Module):
    """The detector's raw network (`FaceDetector.forward`): normalised BGR float N x 3 x H x W in, per-anchor
    outputs out; the runtime does `FaceDetector`'s pre- and post-processing in numpy."""

    def __init__(self) -> None:
        super().__init__()
        self.detector = FaceDetector.from_file(weights.bundled_file(FACES_FILE))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.detector(x)


class TfliteNetGraph(nn.Module):
    """A MediaPipe network on uint8 N x S x S x 3 crops (scaled to [0, 1] as `eyes.to_batch` does), its
    `outputs` only."""

    def __init__(self, net: eyes.TfliteGraph, outputs: tuple[str, ...]) -> None:
        super().__init__()
        self.net, self.outputs = net, outputs

    def forward(self, crops: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.net(crops.permute(0, 3, 1, 2).float() / 255.0, self.outputs)


class PReluAsConvs(nn.Module):
    """PReLU(x) = (1 - a) relu(x) + a x, each product a depthwise 1x1 convolution: the same function (to 2e-5 on
    the iris network's outputs), which ONNX Runtime keeps in its blocked NCHWc layout, where its PRelu
    kernel left it for a slow broadcast and two layout changes around every activation (45 % and 20 % of the
    iris network's time): 5.3 -> 3.7 core-ms an eye, one thread (docs/benchmarks.md, "CPU runtime")."""

    def __init__(self, prelu: nn.PReLU) -> None:
        super().__init__()
        slope = prelu.weight.detach().reshape(-1, 1, 1, 1)
        channels = slope.shape[0]
        self.relu_part = nn.Conv2d(channels, channels, 1, groups=channels, bias=False)
        self.linear_part = nn.Conv2d(channels, channels, 1, groups=channels, bias=False)
        with torch.no_grad():
            self.relu_part.weight.copy_(1 - slope)
            self.linear_part.weight.copy_(slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu_part(torch.relu(x)) + self.linear_part(x)


def prelu_as_convs(module: nn.Module) -> nn.Module:
    """A copy of a TfliteNetGraph with every PReLU as `PReluAsConvs`, for its graph only."""
    out = copy.deepcopy(module)
    prelus = cast(eyes.TfliteGraph, out.net).prelu
    for name in list(prelus.keys()):
        prelus[name] = PReluAsConvs(cast(nn.PReLU, prelus[name]))
    return out


@dataclass(frozen=True)
class Exportable:
    """How to make one graph: its torch module, the dynamic axes, example inputs (export and the drift check),
    and the tolerance (absolute, relative) of the stored graph against the module."""

    module: Callable[[], nn.Module]
    dynamic: dict[str, dict[int, str]]
    examples: Callable[[], list[Arrays]]
    tolerance: tuple[float, float] = (1e-4, 1e-4)
    rewrite: Callable[[nn.Module], nn.Module] | None = None  # the same function, faster in ONNX Runtime


def _demo_views() -> list[Image.Image]:
    """The demo photos as the pass sees them (the ~500 px view)."""
    files = sorted(p for p in paths.demo_photos_dir().iterdir() if p.suffix.lower() in (".jpg", ".png"))
    return [look.Look(Image.open(p).convert("RGB")).held_view() for p in files]


def _backbone_examples() -> list[Arrays]:
    views = _demo_views()
    squares = np.stack([model_input(v) for v in views])
    big = np.asarray(views[0].resize((448, 448), Image.Resampling.BILINEAR))[None]
    return [(squares,), (big,)]


def _composition_examples() -> list[Arrays]:
    side = composition.SIDE
    squares = [np.asarray(v.resize((side, side), Image.Resampling.BILINEAR, reducing_gap=2.0)) for v in _demo_views()]
    return [(np.stack(squares[:1]),), (np.stack(squares[1:3]),)]


def faces_batch(images: Sequence[np.ndarray]) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """uint8 H x W x 3 images -> the detector's network input (as `FaceDetector._preprocess` makes it)."""
    batch, sizes = stack_faces(images)
    detector = FaceDetector()
    x = detector._preprocess(torch.from_numpy(batch).permute(0, 3, 1, 2), sizes)
    return x.contiguous().numpy(), sizes


def _faces_examples() -> list[Arrays]:
    small = [face_input(v, 384) for v in _demo_views()]
    return [(faces_batch(small)[0],), (faces_batch(small[:1])[0],)]


def _crops(size: int) -> Callable[[], list[Arrays]]:
    def make() -> list[Arrays]:
        views = _demo_views()
        crops = [np.asarray(v.resize((size, size), Image.Resampling.BILINEAR, box=(0, 0, v.width / 2, v.height / 2)))
                 for v in views]
        return [(np.stack(crops),), (np.stack(crops[:1]),)]

    return make


def _tflite(make_net: Callable[[], eyes.TfliteGraph], file: str, outputs: tuple[str, ...]) -> Callable[[], nn.Module]:
    return lambda: TfliteNetGraph(eyes._load(make_net(), weights.bundled_file(file)), outputs)


_IRIS_OUT = ("conv_eyes_contours_and_brows", "conv_iris")
MODULES: dict[str, Exportable] = {
    "backbone": Exportable(
        BackboneGraph,
        {"images": {0: "n", 1: "height", 2: "width"}, "pooled": {0: "n"}, "stats": {0: "n"},
         "feature_map": {0: "n", 2: "rows", 3: "cols"}},
        _backbone_examples, (2e-4, 1e-4)),
    "composition": Exportable(
        CompositionGraph,
        {"images": {0: "n", 1: "height", 2: "width"}, "composition": {0: "n", 2: "rows", 3: "cols"}},
        _composition_examples, (1e-4, 1e-4)),
    "retinaface": Exportable(
        FacesGraph,
        {"images": {0: "n", 2: "height", 3: "width"}, "loc": {0: "n", 1: "anchors"}, "logits": {0: "n", 1: "anchors"},
         "landmarks": {0: "n", 1: "anchors"}},
        _faces_examples),
    "eye_lids": Exportable(_tflite(eyes.iris_net, eyes.IRIS_FILE, _IRIS_OUT[:1]),
                           {"eyes": {0: "n"}, "contours": {0: "n"}}, _crops(eyes.IRIS_SIZE), (2e-3, 1e-4),
                           prelu_as_convs),
    "iris_landmark": Exportable(_tflite(eyes.iris_net, eyes.IRIS_FILE, _IRIS_OUT),
                                {"eyes": {0: "n"}, "contours": {0: "n"}, "iris": {0: "n"}}, _crops(eyes.IRIS_SIZE),
                                (2e-3, 1e-4), prelu_as_convs),
    "face_mesh": Exportable(_tflite(eyes.face_mesh_net, eyes.MESH_FILE, ("conv2d_21", "conv2d_31")),
                            {"faces": {0: "n"}, "mesh": {0: "n"}, "presence": {0: "n"}}, _crops(eyes.MESH_SIZE),
                            (2e-3, 1e-4), prelu_as_convs),
}


def export(graph: Graph, folder: Path) -> Path:
    """Export `graph` from its torch module into folder/graph.file (atomically), its sources' SHA-256 in its
    metadata. Returns the path."""
    spec = MODULES[graph.name]
    module = spec.module().eval()
    if spec.rewrite is not None:
        module = spec.rewrite(module).eval()
    example = tuple(torch.from_numpy(np.array(a)) for a in spec.examples()[0])
    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation and tracer warnings
        torch.onnx.export(module, example, buf,  # type: ignore[arg-type]  # a file object works
                          dynamo=False, opset_version=graphs.OPSET,
                          input_names=list(graph.inputs), output_names=list(graph.outputs),
                          dynamic_axes=spec.dynamic, do_constant_folding=True)
    meta = graphs.source_digests(graph) | {"exporter": graphs.EXPORTER, "torch": torch.__version__}
    path = folder / graph.file
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(graphs.with_metadata(buf.getvalue(), meta))
    os.replace(tmp, path)
    return path


def disagreement(graph: Graph, run: Callable[[Arrays], Sequence[np.ndarray]]) -> list[str]:
    """Run the torch module (as the app's torch path runs it, not rewritten) and `run` (the stored graph) on the
    graph's examples; one line per output that differs beyond the tolerance (empty: they agree)."""
    spec = MODULES[graph.name]
    module = spec.module().eval()
    atol, rtol = spec.tolerance
    problems = []
    for example in spec.examples():
        with torch.inference_mode():
            want = module(*(torch.from_numpy(np.array(a)) for a in example))
        if isinstance(want, torch.Tensor):  # a graph of one output
            want = (want,)
        got = run(example)
        for name, w, g in zip(graph.outputs, want, got, strict=True):
            w = w.float().numpy()
            if w.shape != g.shape:
                problems.append(f"{graph.name}.{name}: shape {g.shape}, torch {w.shape}")
            elif not np.allclose(g, w, atol=atol, rtol=rtol):
                problems.append(f"{graph.name}.{name}: differs from torch by up to {np.abs(g - w).max():.3g} "
                                f"(input {example[0].shape})")
    return problems
