"""One-off converter: MediaPipe's face mesh and iris TFLite models -> the torch state_dicts the app loads.

Dev-only tool; needs the pure-Python ``tflite`` flatbuffer reader next to torch (not a dependency of the app).
This is how the bundled files were made, without touching the project's venv::

    pip download mediapipe==0.10.21 --no-deps -d /tmp/wheels
    python3 -m pip install --target /tmp/tflib --no-deps tflite==2.18.0 flatbuffers
    PYTHONPATH=/tmp/tflib .venv/bin/python tools/convert_mediapipe_eyes.py \\
        /tmp/wheels/mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl models/

The source is the Apache-2.0 ``mediapipe`` 0.10.21 wheel (``mediapipe/modules/face_landmark/face_landmark.tflite``,
float16 weights; ``mediapipe/modules/iris_landmark/iris_landmark.tflite``, float32). Pass the wheel or a folder
holding the two .tflite files. Each TFLite operator is matched by the name of the tensor it writes to the
torch module of that name (``selfie_desk.neural.eyes``); the script fails unless every torch tensor is filled
exactly once with a tensor of the same shape, every operator of the graph is one the torch graph has (same
inputs, stride, padding, no fused activation), and the pooling and channel padding are what the torch graph
does. float16 weights are widened to float32 exactly.
"""

from __future__ import annotations

import argparse
import hashlib
import zipfile
from pathlib import Path

import numpy as np
import tflite
import torch
from tflite.BuiltinOperator import BuiltinOperator
from tflite.Padding import Padding
from tflite.TensorType import TensorType

from selfie_desk.neural import eyes

SOURCES = {
    eyes.MESH_FILE: ("mediapipe/modules/face_landmark/face_landmark.tflite", eyes.face_mesh_net),
    eyes.IRIS_FILE: ("mediapipe/modules/iris_landmark/iris_landmark.tflite", eyes.iris_net),
}
_OPNAMES = {v: k for k, v in BuiltinOperator.__dict__.items() if not k.startswith("_")}
_DTYPES = {TensorType.FLOAT32: np.float32, TensorType.FLOAT16: np.float16, TensorType.INT32: np.int32}


def read_tflite(source: Path, member: str) -> bytes:
    if source.suffix == ".whl":
        with zipfile.ZipFile(source) as wheel:
            return wheel.read(member)
    return (source / Path(member).name).read_bytes()


class Graph:
    """The operators of a one-subgraph TFLite model, by the name of the tensor each writes."""

    def __init__(self, data: bytes) -> None:
        self.model = tflite.Model.GetRootAsModel(data, 0)
        if self.model.SubgraphsLength() != 1:
            raise ValueError("expected one subgraph")
        self.g = self.model.Subgraphs(0)
        self.producer: dict[str, tuple[str, object]] = {}
        for i in range(self.g.OperatorsLength()):
            op = self.g.Operators(i)
            code = self.model.OperatorCodes(op.OpcodeIndex())
            kind = _OPNAMES[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
            self.producer[self.name(op.Outputs(0))] = (kind, op)

    def name(self, index: int) -> str:
        return self.g.Tensors(index).Name().decode()

    def inputs(self, op) -> list[str]:
        return [self.name(op.Inputs(j)) for j in range(op.InputsLength()) if op.Inputs(j) >= 0]

    def array(self, name: str) -> np.ndarray:
        """A constant tensor's value, through a DEQUANTIZE (float16 -> float32) when there is one."""
        if name in self.producer:
            kind, op = self.producer[name]
            if kind != "DEQUANTIZE":
                raise ValueError(f"{name} is computed by {kind}, not a constant")
            return self.array(self.inputs(op)[0]).astype(np.float32)
        for i in range(self.g.TensorsLength()):
            t = self.g.Tensors(i)
            if t.Name().decode() == name:
                raw = self.model.Buffers(t.Buffer()).DataAsNumpy()
                return np.frombuffer(raw.tobytes(), dtype=_DTYPES[t.Type()]).reshape(t.ShapeAsNumpy())
        raise KeyError(name)

    def options(self, op, cls):
        table = op.BuiltinOptions()
        opts = cls()
        opts.Init(table.Bytes, table.Pos)
        return opts


def _check_conv(graph: Graph, op, kind: str, src: str, stride: int, padding: str, name: str, kernel: int) -> None:
    cls = tflite.Conv2DOptions if kind == "CONV_2D" else tflite.DepthwiseConv2DOptions
    opts = graph.options(op, cls)
    want = Padding.SAME if padding == "same" else Padding.VALID
    # SAME and VALID pad nothing when the kernel is no larger than the stride (on the even sizes used here).
    same_either_way = kernel <= stride
    if (opts.StrideH(), opts.StrideW()) != (stride, stride) or (opts.Padding() != want and not same_either_way):
        raise ValueError(f"{name}: stride {opts.StrideH()}x{opts.StrideW()} padding {opts.Padding()} differ")
    if opts.FusedActivationFunction() != 0:
        raise ValueError(f"{name}: fused activation {opts.FusedActivationFunction()}")
    if graph.inputs(op)[0] != ("input_1" if src == "input" else src):
        raise ValueError(f"{name}: reads {graph.inputs(op)[0]}, torch reads {src}")


def convert(data: bytes, net: eyes.TfliteGraph) -> dict[str, torch.Tensor]:
    graph = Graph(data)
    expected = net.state_dict()
    state: dict[str, torch.Tensor] = {}
    used: set[str] = set()

    def put(key: str, array: np.ndarray) -> None:
        if key in state:
            raise ValueError(f"{key} filled twice")
        if key not in expected or tuple(expected[key].shape) != array.shape:
            raise ValueError(f"{key}: TFLite shape {array.shape} does not fit {tuple(expected[key].shape)}")
        state[key] = torch.from_numpy(np.array(array, dtype=np.float32, copy=True))

    def op_for(name: str, kind: str):
        got, op = graph.producer[name]
        if got != kind:
            raise ValueError(f"{name}: TFLite has {got}, torch expects {kind}")
        used.add(name)
        return op

    def prelu(act: str, src: str) -> None:
        op = op_for(act, "PRELU")
        if graph.inputs(op)[0] != src:
            raise ValueError(f"{act}: reads {graph.inputs(op)[0]}, torch reads {src}")
        put(f"prelu.{act}.weight", graph.array(graph.inputs(op)[1]).reshape(-1))

    for entry in net.ops:
        if entry[0] == "conv":
            _, name, src, _, _, kernel, stride, padding, act = entry
            op = op_for(name, "CONV_2D")
            _check_conv(graph, op, "CONV_2D", src, stride, padding, name, kernel)
            _, w, b = graph.inputs(op)
            put(f"conv.{name}.weight", graph.array(w).transpose(0, 3, 1, 2))  # OHWI -> OIHW
            put(f"conv.{name}.bias", graph.array(b))
            if act:
                prelu(act, name)
        elif entry[0] == "dw":
            _, name, src, _, stride = entry
            op = op_for(name, "DEPTHWISE_CONV_2D")
            _check_conv(graph, op, "DEPTHWISE_CONV_2D", src, stride, "same", name, 3)
            if graph.options(op, tflite.DepthwiseConv2DOptions).DepthMultiplier() not in (0, 1):
                raise ValueError(f"{name}: depth multiplier")
            _, w, b = graph.inputs(op)
            put(f"conv.{name}.weight", graph.array(w).transpose(3, 0, 1, 2))  # 1HWC -> C1HW
            put(f"conv.{name}.bias", graph.array(b))
        else:
            _, act, src, branch, cin, cout, stride = entry
            add = op_for(graph.inputs(op_for(act, "PRELU"))[0], "ADD")
            used.discard(act)
            skip_name, branch_name = graph.inputs(add)
            if branch_name != branch:
                raise ValueError(f"{act}: adds {branch_name}, torch adds {branch}")
            skip = skip_name
            if cout > cin:
                pad = op_for(skip, "PAD")
                pads = graph.array(graph.inputs(pad)[1]).tolist()
                if pads != [[0, 0], [0, 0], [0, 0], [0, cout - cin]]:
                    raise ValueError(f"{skip}: paddings {pads}")
                skip = graph.inputs(pad)[0]
            if stride == 2:
                pool = op_for(skip, "MAX_POOL_2D")
                o = graph.options(pool, tflite.Pool2DOptions)
                if (o.FilterHeight(), o.FilterWidth(), o.StrideH(), o.StrideW()) != (2, 2, 2, 2):
                    raise ValueError(f"{skip}: pooling differs")
                skip = graph.inputs(pool)[0]
            if skip != src:
                raise ValueError(f"{act}: skip from {skip}, torch from {src}")
            prelu(act, graph.name(add.Outputs(0)))

    leftover = sorted(
        n for n, (kind, _) in graph.producer.items() if n not in used and kind not in ("DEQUANTIZE", "RESHAPE")
    )
    if leftover:
        raise ValueError(f"TFLite operators the torch graph does not have: {leftover}")
    missing = sorted(set(expected) - set(state))
    if missing:
        raise ValueError(f"torch tensors with no TFLite source: {missing}")
    state = {key: state[key] for key in expected}
    net.load_state_dict(state, strict=True)
    return state


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="the mediapipe 0.10.21 wheel, or a folder with the two .tflite")
    parser.add_argument("output", type=Path, help="folder to write face_mesh.pth and iris_landmark.pth into")
    args = parser.parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)
    for out_name, (member, make) in SOURCES.items():
        data = read_tflite(args.source, member)
        state = convert(data, make())
        path = args.output / out_name
        torch.save(state, path)
        print(f"{member}: SHA-256 {hashlib.sha256(data).hexdigest()} ({len(data)} bytes)")
        print(f"  wrote {path}: {len(state)} tensors, {sum(t.numel() for t in state.values())} parameters")
        print(f"  SHA-256 {hashlib.sha256(path.read_bytes()).hexdigest()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
