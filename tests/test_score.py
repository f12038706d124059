"""The score: real photos above their degraded copies; faces where there are faces."""

import numpy as np
import pytest
import torch
from conftest import DEMO
from PIL import Image

from selfie_desk.core import degrade
from selfie_desk.core.embedding import model_input

PHOTOS = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "china.jpg", "flower.jpg", "camera.png"]


def scores(scorer, images: list[Image.Image]) -> np.ndarray:
    """Each photo scored at its own resolution, as the scoring pass scores a decode of that size."""
    return np.array([s.score for s in scorer.score_images(images)])


@pytest.fixture(scope="module")
def originals():
    return {name: Image.open(DEMO / name).convert("RGB") for name in PHOTOS}


def test_real_photos_score_above_their_degraded_copies(scorer, originals):
    """Photos the head never saw, of subjects it never saw (a cat, a rocket, a cup): the head was trained on
    portraits only. Exposure generalises least (models/README.md): a night launch brightened and a high-key
    cup darkened can beat their originals, so exposure gets a lower floor than the other kinds."""
    rng = np.random.default_rng(1)
    wins: dict[str, list[bool]] = {}
    for im in originals.values():
        for kind in degrade.QUALITY_KINDS:
            s = scores(scorer, [im] + [degrade.degrade(kind, im, rng) for _ in range(3)])
            wins.setdefault(kind, []).extend(s[0] > s[1:])
    rate = {k: float(np.mean(v)) for k, v in wins.items()}
    assert np.mean([x for v in wins.values() for x in v]) >= 0.88, rate
    for kind in ("blur", "noise", "jpeg"):
        assert rate[kind] >= 0.95, rate
    for kind in ("dark", "bright"):
        assert rate[kind] >= 0.7, rate


def test_astronaut_framing(scorer, originals):
    rng = np.random.default_rng(2)
    im = originals["astronaut.png"]
    face = (178, 57, 273, 177)
    others = [originals["china.jpg"], originals["flower.jpg"]]
    s = scores(scorer, [im] + [degrade.degrade(k, im, rng, face=face, backgrounds=others)
                               for k in ("tiny", "cut", "close") for _ in range(3)])
    assert (s[0] > s[1:]).mean() >= 0.75


def test_scores_are_probabilities(scorer, originals):
    s = scores(scorer, list(originals.values()))
    assert ((0 <= s) & (s <= 1)).all() and s.std() > 0.01


def test_faces_on_the_astronaut_none_on_the_coffee_cup(scorer, originals):
    def faces(im):
        arr = torch.from_numpy(np.array(im)).permute(2, 0, 1)[None]
        return scorer.detector.detect(arr, [im.size])[0]

    astronaut = faces(originals["astronaut.png"])
    assert len(astronaut) == 1 and astronaut[0].confidence > 0.95
    x0, y0, x1, y1 = astronaut[0].box
    assert 160 < x0 < 200 and 40 < y0 < 80 and 250 < x1 < 290 and 160 < y1 < 200
    assert faces(originals["coffee.png"]) == []


def test_folded_backbone_computes_what_torchvision_computes(scorer, originals):
    """BatchNorm is folded into the convolutions for speed; the features must stay MobileNetV2's own."""
    import torchvision

    from selfie_desk.core import weights
    from selfie_desk.core.embedding import BACKBONE_FILE

    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in scorer.backbone.modules())
    reference = torchvision.models.mobilenet_v2()
    reference.load_state_dict(torch.load(weights.bundled_file(BACKBONE_FILE), map_location="cpu", weights_only=True))
    reference.eval()
    batch = torch.from_numpy(np.stack([model_input(im) for im in originals.values()])).permute(0, 3, 1, 2)
    with torch.inference_mode():
        x = (batch.float() - scorer.backbone.mean.cpu()) / scorer.backbone.std.cpu()
        expected = reference.features(x).mean(dim=(2, 3))
        got = scorer.embed(batch).cpu()[:, :1280]
    assert torch.allclose(got, expected, atol=1e-4, rtol=1e-4), (got - expected).abs().max()
