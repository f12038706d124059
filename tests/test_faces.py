"""Face detector: real weights on real photos; batching and padding must not change the answer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from selfie_desk.core import paths
from selfie_desk.core.measures.face import Face
from selfie_desk.core.weights import bundled_file
from selfie_desk.neural.faces import FaceDetector

# Measured with these weights; tools/retinaface_check.py shows the ONNX original gives the same.
ASTRONAUT_BOX = (177.75, 56.89, 273.05, 177.29)


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector.from_file(bundled_file("retinaface_mobilenet0.25.pth"))


def photo(name: str, crop: tuple[int, int, int, int] | None = None) -> torch.Tensor:
    """A demo photo as a uint8 RGB tensor 3 x H x W."""
    image = Image.open(paths.demo_photos_dir() / name).convert("RGB")
    if crop is not None:
        image = image.crop(crop)
    return torch.from_numpy(np.array(image)).permute(2, 0, 1).contiguous()


def detect_one(detector: FaceDetector, image: torch.Tensor, **kwargs: float) -> list[Face]:
    return detector.detect(image[None], [(image.shape[2], image.shape[1])], **kwargs)[0]


def pad_batch(images: list[torch.Tensor]) -> tuple[torch.Tensor, list[tuple[int, int]]]:
    height = max(im.shape[1] for im in images)
    width = max(im.shape[2] for im in images)
    batch = torch.zeros((len(images), 3, height, width), dtype=torch.uint8)
    for i, im in enumerate(images):
        batch[i, :, : im.shape[1], : im.shape[2]] = im
    return batch, [(im.shape[2], im.shape[1]) for im in images]


def assert_same_faces(a: list[Face], b: list[Face], box_tol: float = 0.5, conf_tol: float = 1e-3) -> None:
    assert len(a) == len(b)
    for fa, fb in zip(a, b, strict=True):
        assert fa.box == pytest.approx(fb.box, abs=box_tol)
        assert fa.confidence == pytest.approx(fb.confidence, abs=conf_tol)
        for pa, pb in zip(fa.landmarks, fb.landmarks, strict=True):
            assert pa == pytest.approx(pb, abs=box_tol)


def test_astronaut_has_one_face_with_landmarks(detector: FaceDetector) -> None:
    faces = detect_one(detector, photo("astronaut.png"))
    assert len(faces) == 1
    face = faces[0]
    assert face.box == pytest.approx(ASTRONAUT_BOX, abs=2.0)
    assert face.confidence > 0.99
    assert len(face.landmarks) == 5
    x0, y0, x1, y1 = face.box
    assert all(x0 < x < x1 and y0 < y < y1 for x, y in face.landmarks)
    (rex, rey), (lex, ley), (_, nose_y), (_, rmy), (_, lmy) = face.landmarks
    assert rex < lex  # the subject's right eye is on the image's left
    assert max(rey, ley) < nose_y < min(rmy, lmy)  # eyes, then nose, then mouth, top to bottom


@pytest.mark.parametrize("name", ["coffee.png", "chelsea.png"])
def test_no_face_in_photos_without_people(detector: FaceDetector, name: str) -> None:
    # The cat peaks at about 0.18 and the coffee cup at about 0.10.
    assert detect_one(detector, photo(name), threshold=0.5) == []


def test_padded_batch_equals_one_image_at_a_time(detector: FaceDetector) -> None:
    # Sizes that are not multiples of 32, padded into one batch.
    images = [photo("astronaut.png", (20, 10, 497, 461)), photo("camera.png", (100, 50, 421, 331))]
    batch, sizes = pad_batch(images)
    assert batch.shape[-2:] == (451, 477)
    together = detector.detect(batch, sizes, threshold=0.5)
    alone = [detect_one(detector, im, threshold=0.5) for im in images]
    assert [len(f) for f in together] == [1, 1]
    for t, a in zip(together, alone, strict=True):
        assert_same_faces(t, a)


def test_boxes_are_clipped_to_the_real_image(detector: FaceDetector) -> None:
    image = photo("astronaut.png")
    # Declare only the left 260 columns real: the face (x 178..273) is cut, its box stops at the edge.
    faces = detector.detect(image[None], [(260, 512)], threshold=0.5)[0]
    assert len(faces) == 1
    assert faces[0].box[2] == 260.0
    assert faces[0].box[0] == pytest.approx(ASTRONAUT_BOX[0], abs=3.0)


def test_faces_centred_in_the_padding_are_dropped(detector: FaceDetector) -> None:
    # Drive the post-processing directly: one confident anchor inside the real image, one in the padding.
    anchors = detector.anchors(64, 64, torch.device("cpu"))
    inside = int(((anchors[:, 0] == 12) & (anchors[:, 1] == 12) & (anchors[:, 2] == 16)).nonzero())
    outside = int(((anchors[:, 0] == 52) & (anchors[:, 1] == 12) & (anchors[:, 2] == 16)).nonzero())
    logits = torch.zeros((1, anchors.shape[0], 2))
    logits[0, [inside, outside], 1] = 10.0
    loc = torch.zeros((1, anchors.shape[0], 4))
    landm = torch.zeros((1, anchors.shape[0], 10))
    faces = detector._postprocess(loc, logits, landm, torch.Size([64, 64]), [(40, 64)], 0.8, 0.4)[0]
    assert len(faces) == 1
    assert faces[0].box == pytest.approx((4.0, 4.0, 20.0, 20.0))
    assert faces[0].landmarks == ((12.0, 12.0),) * 5


def test_channels_last_gives_the_same_faces(detector: FaceDetector) -> None:
    fast = FaceDetector.from_file(bundled_file("retinaface_mobilenet0.25.pth"))
    fast = fast.to(memory_format=torch.channels_last)
    image = photo("astronaut.png", (0, 0, 450, 430))
    assert_same_faces(detect_one(fast, image, threshold=0.5), detect_one(detector, image, threshold=0.5), 1e-2, 1e-4)


@pytest.mark.parametrize(("height", "width"), [(32, 32), (33, 65), (100, 37), (427, 640)])
def test_anchor_grid_matches_the_network_for_any_size(detector: FaceDetector, height: int, width: int) -> None:
    with torch.inference_mode():
        loc, logits, landm = detector(torch.zeros((1, 3, height, width)))
    assert loc.shape[1] == logits.shape[1] == landm.shape[1] == detector.anchors(height, width, loc.device).shape[0]


def test_sorted_by_confidence_and_thresholded(detector: FaceDetector) -> None:
    faces = detect_one(detector, photo("astronaut.png"), threshold=0.01)
    assert len(faces) > 1
    confidences = [f.confidence for f in faces]
    assert confidences == sorted(confidences, reverse=True)
    assert min(confidences) > 0.01


def test_bad_input_is_refused(detector: FaceDetector) -> None:
    image = photo("chelsea.png")
    with pytest.raises(ValueError, match="uint8"):
        detector.detect(image[None].float(), [(451, 300)])
    with pytest.raises(ValueError, match="does not fit"):
        detector.detect(image[None], [(452, 300)])
    with pytest.raises(ValueError, match="sizes"):
        detector.detect(image[None], [(451, 300), (451, 300)])


def test_face_scaled_maps_box_and_landmarks() -> None:
    face = Face(box=(10.0, 20.0, 30.0, 60.0), confidence=0.9, landmarks=((15.0, 30.0),) * 5)
    big = face.scaled(2.0, 0.5)
    assert big.box == (20.0, 10.0, 60.0, 30.0)
    assert big.landmarks == ((30.0, 15.0),) * 5
    assert big.confidence == 0.9
    assert face.scaled(1.0, 1.0) == face


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_bf16_matches_cpu(detector: FaceDetector) -> None:
    gpu = FaceDetector.from_file(bundled_file("retinaface_mobilenet0.25.pth"), device="cuda")
    images = [photo("astronaut.png"), photo("camera.png", (100, 50, 421, 331))]
    batch, sizes = pad_batch(images)
    on_gpu = gpu.detect(batch, sizes, threshold=0.5)
    on_cpu = detector.detect(batch, sizes, threshold=0.5)
    for g, c in zip(on_gpu, on_cpu, strict=True):
        assert_same_faces(g, c, box_tol=3.0, conf_tol=2e-2)
