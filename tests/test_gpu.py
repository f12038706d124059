"""The CUDA path (bf16, channels_last, batched) agrees with the CPU. Runs only where there is a GPU."""

import numpy as np
import pytest
import torch
from conftest import DEMO
from PIL import Image

from selfie_desk.neural.model import Scorer

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
]


def test_cuda_scores_match_cpu(scorer):
    gpu = Scorer(device="cuda")
    assert gpu.label.startswith("GPU")
    images = [Image.open(p).convert("RGB") for p in sorted(DEMO.glob("*.png"))]
    cpu_scores = np.array([s.score for s in scorer.score_images(images)])
    gpu_scores = np.array([s.score for s in gpu.score_images(images)])
    assert np.abs(cpu_scores - gpu_scores).max() < 0.03  # bf16 autocast
    assert (np.argsort(cpu_scores) == np.argsort(gpu_scores)).mean() >= 0.7


def test_cuda_crop_search_keeps_the_face_and_agrees_with_cpu(scorer):
    from selfie_desk.core.crop.geometry import cuts_a_face
    from selfie_desk.neural.crop_search import CropSearch

    cpu, gpu = CropSearch(scorer), CropSearch(Scorer(device="cuda"))
    photo = cpu.prepare(DEMO / "astronaut.png")
    a, b = cpu.search(photo, "original", top=3), gpu.search(photo, "original", top=3)
    faces = [f.box for f in photo.faces]
    assert faces and not any(cuts_a_face(c.box, faces) for c in [b.best, *b.alternatives])
    assert b.candidates >= 500 and len(b.alternatives) == 3
    assert abs(a.best.score - b.best.score) < 0.05  # both exact, bf16 on the GPU; the boxes may differ a little
