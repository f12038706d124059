"""The scorer of the CPU runtime: `model.Scorer`'s contract (what the scoring pass, the crop search, the attention
map and the workers ask of a scorer) with every network an ONNX graph in ONNX Runtime and the heads in numpy.
No torch is imported: the CPU installer ships without it.

Measured on this 2-core VM, one thread each, batch 16 (docs/benchmarks.md, "CPU runtime"): MobileNetV2 with
its stage statistics ~11 core-ms a photo against torch's ~22, RetinaFace at 384 px ~10 against ~20, the eye
network ~5 core-ms an eye against ~15.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from PIL import Image

from selfie_desk.core.measures import look
from selfie_desk.core.measures.embedding import INPUT_SIZE, with_checks
from selfie_desk.core.measures.face import Face
from selfie_desk.core.measures.face_check import FaceCheck
from selfie_desk.core.model_cards import DEFAULT_MODEL
from selfie_desk.neural import scored
from selfie_desk.neural.eye_landmarks import EyeLandmarker
from selfie_desk.neural.runtime import graphs
from selfie_desk.neural.runtime.composition import ArrayComposition
from selfie_desk.neural.runtime.faces import ArrayFaceDetector
from selfie_desk.neural.runtime.graphs import Session
from selfie_desk.neural.runtime.heads import load_aspects, load_head
from selfie_desk.neural.scored import Scored


@dataclass(frozen=True)
class CpuDevice:
    """What the pass reads of a scorer's device (`scorer.device.type`), without torch."""

    type: str = "cpu"


def default_threads() -> int:
    """Half the cores (at least one): the other half decodes (pipeline.cpu_share's rule for torch)."""
    return max(1, (os.cpu_count() or 2) // 2)


class ArrayEyeLandmarker(EyeLandmarker):
    """MediaPipe's networks as ONNX graphs; the crops and geometry are `EyeLandmarker`'s. The pass needs only
    the eye-contour head (`eye_lids`); the full iris network and the face mesh load when first asked for."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self.lids = Session(graphs.EYE_LIDS, threads)
        self._iris: Session | None = None
        self._mesh: Session | None = None

    def run_iris(self, crops: np.ndarray, iris_points: bool) -> tuple[np.ndarray, np.ndarray | None]:
        if not iris_points:
            return self.lids.run(crops)[0], None
        self._iris = self._iris or Session(graphs.IRIS, self.threads)
        contours, iris = self._iris.run(crops)
        return contours, iris

    def run_mesh(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self._mesh = self._mesh or Session(graphs.FACE_MESH, self.threads)
        mesh, presence = self._mesh.run(crops)
        return mesh, presence


class RuntimeScorer:
    """Scores batches of photos on the CPU: one backbone graph for score, stage statistics and embedding, one
    detector graph for faces, the eye graph over the batch's faces, the looks (numpy) in between. Safe to use
    from the thread that made it and from the pass's eye thread (ONNX Runtime's sessions are thread-safe)."""

    runtime = "onnx"

    def __init__(self, model: str = DEFAULT_MODEL, device: str = "cpu", threads: int | None = None) -> None:
        if device not in ("auto", "cpu"):
            raise RuntimeError(f"the ONNX runtime runs on the CPU; --device {device} needs --runtime torch")
        self.device = CpuDevice()
        self.threads = threads or default_threads()
        self.head, self.info = load_head(model)
        self.model_name = self.info.name
        self.aspect_heads = load_aspects()
        self.backbone = Session(graphs.BACKBONE, self.threads)
        faces = Session(graphs.FACES, self.threads)
        self.detector = ArrayFaceDetector(lambda x: faces.run(x))
        self.eyes = ArrayEyeLandmarker(self.threads)
        self.label = f"CPU ({self.threads} thread{'s' if self.threads > 1 else ''}, ONNX Runtime)"
        self.cores = 1  # how many batch parts run at once (`use_cores`)

    def use_cores(self, n: int) -> None:
        """Run each batch's networks in `n` parts at once (one session thread each) until told 1 again: the
        pass's tail, once decoding is done and its cores would idle (torch there gets more threads instead)."""
        self.cores = max(1, n)

    def _in_parts(self, run: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
        parts = min(self.cores, len(x))
        if parts <= 1:
            return run(x)
        with ThreadPoolExecutor(parts) as pool:  # ONNX Runtime releases the GIL and its sessions are thread-safe
            return np.concatenate(list(pool.map(run, np.array_split(x, parts))))

    def with_model(self, model: str) -> RuntimeScorer:
        """The same networks with another head: switching the active model loads a head, nothing else."""
        head, info = load_head(model)
        other = object.__new__(RuntimeScorer)
        other.__dict__.update(self.__dict__)
        other.head, other.info, other.model_name = head, info, info.name
        return other

    # ---- the scoring pass -----------------------------------------------------------------------------------
    def embed(self, model_inputs: np.ndarray) -> np.ndarray:
        """uint8 N x 224 x 224 x 3 -> float32 N x (1280 + STATS_DIM): the pooled last layer, then the stage
        statistics (`model.Scorer.embed`)."""
        def run(x: np.ndarray) -> np.ndarray:
            pooled, stats = self.backbone.run(np.ascontiguousarray(x), outputs=("pooled", "stats"))
            return np.concatenate([pooled, stats], axis=1)

        return self._in_parts(run, model_inputs)

    @staticmethod
    def complete(network: np.ndarray, looks: Sequence[np.ndarray]) -> np.ndarray:
        """`model.Scorer.complete`: the face checks zero until ``finish`` knows them."""
        return np.concatenate([network, np.stack([with_checks(v) for v in looks])], axis=1)

    def finish(self, batch: Sequence[Scored], checks: Sequence[Sequence[FaceCheck]]) -> list[Scored]:
        """`model.Scorer.finish`: the faces' checks into the embeddings, and the scores made again from them."""
        return scored.finish(batch, checks, self.score_embeddings)

    def score_embeddings(self, features: np.ndarray) -> np.ndarray:
        return self.head.probability(features)

    def score_batch(self, model_inputs: np.ndarray, face_inputs: np.ndarray, face_sizes: list[tuple[int, int]],
                    looks: Sequence[look.Look], checks: bool = True) -> list[Scored]:
        """`model.Scorer.score_batch`, on numpy N x H x W x 3 inputs (the pass's)."""
        network = self.embed(model_inputs)
        faces = self.find_faces(face_inputs, face_sizes)
        extras = [lk.values([f.box for f in found], size)
                  for lk, found, size in zip(looks, faces, face_sizes, strict=True)]
        features = self.complete(network, extras)
        scores = self.score_embeddings(features)
        aspects = self.aspect_heads.aspects(features)
        out = [Scored(float(s), e, f, a) for s, e, f, a in zip(scores, features, faces, aspects, strict=True)]
        return self.finish(out, self.check_faces(looks, faces, face_sizes)) if checks else out

    def check_faces(self, looks: Sequence[look.Look], faces: list[list[Face]],
                    face_sizes: list[tuple[int, int]]) -> list[list[FaceCheck]]:
        return scored.check_faces(self.eyes, looks, faces, face_sizes)

    def score_images(self, images: Sequence[Image.Image], face_edge: int = 384) -> list[Scored]:
        looks, model_in, face_in, sizes = scored.inputs_of_images(images, face_edge)
        return self.score_batch(model_in, face_in, sizes, looks)

    # ---- the crop search and the attention map ---------------------------------------------------------------
    def inference(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def feature_maps(self, square: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One photo squashed to a square (uint8 S x S x 3) -> (its feature map 1 x 1280 x S/32 x S/32, its
        network features 1 x (1280 + STATS_DIM))."""
        pooled, stats, fmap = self.backbone.run(np.ascontiguousarray(square)[None])
        return fmap, np.concatenate([pooled, stats], axis=1)

    def find_faces(self, images: np.ndarray, sizes: list[tuple[int, int]]) -> list[list[Face]]:
        parts = min(self.cores, len(images))
        if parts <= 1:
            return self.detector.detect(images, sizes)
        cuts = np.array_split(np.arange(len(images)), parts)
        with ThreadPoolExecutor(parts) as pool:
            found = pool.map(lambda idx: self.detector.detect(images[idx], [sizes[i] for i in idx]), cuts)
            return [faces for part in found for faces in part]

    @staticmethod
    def arrays(values: np.ndarray) -> np.ndarray:
        return np.asarray(values, np.float32)

    @staticmethod
    def tensor(values: np.ndarray) -> np.ndarray:
        return np.asarray(values)

    def load_composer(self) -> ArrayComposition:
        """The bundled composition head: its reduced map from the `composition` graph, the rest in numpy."""
        return ArrayComposition(self.threads)

    def composition_maps(self, composer: ArrayComposition, square: np.ndarray, last: bool
                         ) -> tuple[np.ndarray | None, np.ndarray]:
        """`model.Scorer.composition_maps`: the last feature map (only with `last`: a second pass, an option of
        the tools) and the composition head's reduced map of a photo squashed to composition.SIDE."""
        fmap = self.feature_maps(square)[0] if last else None
        return fmap, composer.maps(square)

    def attention(self, view: Image.Image, side: int = 2 * INPUT_SIZE) -> np.ndarray:
        """`model.Scorer.attention` (Grad x Input on the last feature map, the gradient of the head's content
        logit in closed form: `ArrayHead.content_gradient`)."""
        square = view.convert("RGB").resize((side, side), Image.Resampling.BILINEAR, reducing_gap=2.0)
        fmap, _ = self.feature_maps(np.asarray(square))
        fmap = fmap[0].astype(np.float64)
        grad = self.head.content_gradient(fmap.mean(axis=(1, 2)))
        cells = np.einsum("c,chw->hw", grad, fmap) / (fmap.shape[1] * fmap.shape[2])
        cells = cells - cells.mean()
        peak = float(np.abs(cells).max())
        return (cells / peak if peak > 0 else cells).astype(np.float32)

