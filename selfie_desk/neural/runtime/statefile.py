"""torch.save's file format read and written without torch: the score heads' files (models/score_head.pt, a
personal model's NAME.pt) hold a pickled dict of plain values and tensors, which here become numpy arrays.

So one file format serves both builds: a head trained with torch loads in the CPU build, and a personal model
trained there (numpy) loads in torch. Reading admits only what `torch.load(weights_only=True)` admits of
these files (an ordered dict, tensors of plain dtypes): any other object in the pickle is refused.
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

# torch's storage classes as pickled by torch.save (legacy names, still written by torch 2.x)
_STORAGES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16, "LongStorage": np.int64,
    "IntStorage": np.int32, "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}
_NAMES = {np.dtype(v): k for k, v in _STORAGES.items()}


class _Storage:
    def __init__(self, dtype: type) -> None:
        self.dtype = np.dtype(dtype)


def _rebuild_tensor(storage: np.ndarray, offset: int, size: tuple[int, ...], stride: tuple[int, ...],
                    *_: Any) -> np.ndarray:
    if not size:
        return np.array(storage[offset], dtype=storage.dtype)
    view = np.lib.stride_tricks.as_strided(storage[offset:], shape=size,
                                           strides=[s * storage.itemsize for s in stride])
    return np.array(view)  # a copy: the file's buffer is let go


class _Reader(pickle.Unpickler):
    def __init__(self, data: bytes, archive: zipfile.ZipFile, prefix: str) -> None:
        super().__init__(io.BytesIO(data))
        self.archive, self.prefix = archive, prefix

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGES:
            return _Storage(_STORAGES[name])
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a model file")

    def persistent_load(self, pid: Any) -> np.ndarray:
        kind, storage, key, _location, numel = pid
        if kind != "storage" or not isinstance(storage, _Storage):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        raw = self.archive.read(f"{self.prefix}/data/{key}")
        return np.frombuffer(raw, dtype=storage.dtype.newbyteorder("<"), count=numel)


def load(path: Path | str | bytes) -> Any:
    """What torch.load(path, weights_only=True) returns, with numpy arrays for tensors."""
    source = io.BytesIO(path) if isinstance(path, bytes) else path
    with zipfile.ZipFile(source) as archive:
        pickled = [n for n in archive.namelist() if n.endswith("/data.pkl")]
        if len(pickled) != 1:
            raise ValueError(f"{path!r} is not a torch.save file")
        prefix = pickled[0][: -len("/data.pkl")]
        if archive.read(f"{prefix}/byteorder").strip() != b"little":
            raise ValueError("only little-endian model files are read")
        return _Reader(archive.read(pickled[0]), archive, prefix).load()


# ---- writing ----------------------------------------------------------------------------------------------
class _Global:
    """A name pickled as GLOBAL module.name without importing it (torch is not here)."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def __call__(self) -> None:  # pickle asks a reduction's function to be callable; this one is never called
        raise TypeError(f"{self.module}.{self.name} is only a name here")


class _StorageRef:
    """A tensor's storage: pickled as torch.save's persistent id ("storage", type, key, location, numel)."""

    def __init__(self, key: str, array: np.ndarray) -> None:
        self.key, self.array = key, array


class _Tensor:
    def __init__(self, key: str, array: np.ndarray) -> None:
        self.storage = _StorageRef(key, array)

    def __reduce__(self) -> tuple:
        a = self.storage.array
        stride = tuple(int(np.prod(a.shape[k + 1:])) for k in range(a.ndim))
        return (_Global("torch._utils", "_rebuild_tensor_v2"),
                (self.storage, 0, tuple(a.shape), stride, False, OrderedDict()))


class _Writer(pickle._Pickler):  # type: ignore[name-defined,misc]  # the pure-Python pickler: save_global is ours
    dispatch = dict(pickle._Pickler.dispatch)  # type: ignore[attr-defined]

    def save_named(self, obj: _Global) -> None:
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())  # type: ignore[attr-defined]

    dispatch[_Global] = save_named  # type: ignore[assignment]

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, _StorageRef):
            a = obj.array
            return ("storage", _Global("torch", _NAMES[a.dtype]), obj.key, "cpu", int(a.size))
        return None


def save(obj: Any, path: Path) -> None:
    """Write `obj` (dicts, lists and plain values; numpy arrays as tensors) as torch.save would, atomically, so
    that torch.load(path, weights_only=True) and `load` both read it."""
    arrays: list[np.ndarray] = []

    def convert(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            arrays.append(np.array(value, order="C"))  # (ascontiguousarray would make a 0-d array 1-d)
            return _Tensor(str(len(arrays) - 1), arrays[-1])
        if isinstance(value, OrderedDict):
            return OrderedDict((k, convert(v)) for k, v in value.items())
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [convert(v) for v in value]
        if isinstance(value, np.generic):
            return value.item()
        return value

    buf = io.BytesIO()
    _Writer(buf, protocol=2).dump(convert(obj))
    prefix = path.stem
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(f"{prefix}/data.pkl", buf.getvalue())
        archive.writestr(f"{prefix}/.format_version", "1")
        archive.writestr(f"{prefix}/.storage_alignment", "64")
        archive.writestr(f"{prefix}/byteorder", "little")
        for k, a in enumerate(arrays):
            archive.writestr(f"{prefix}/data/{k}", a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes())
        archive.writestr(f"{prefix}/version", "3\n")
    os.replace(tmp, path)
