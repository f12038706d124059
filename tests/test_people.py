"""The key people (issue 28): who recurs across a shoot (dlib's face descriptor, real weights), which faces of a
photo matter, and best-of-group judged on them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from selfie_desk.core.culling.groups import rank_group
from selfie_desk.core.culling.people import SAME_PERSON, KeyPeople, find_people, key_reasons
from selfie_desk.core.storage.catalog import FaceBox

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo"


def unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=128).astype(np.float32)
    return v / np.linalg.norm(v)


def test_faces_of_one_person_are_one_person_and_a_chain_of_look_alikes_does_not_join_two():
    a, b = unit(1), unit(2)
    near = [a + 0.15 * unit(10 + i) / np.sqrt(2) for i in range(4)]  # one person, a little apart each time
    assert find_people([near[0], b, near[1], None, near[2], near[3]]) == [1, 2, 1, 0, 1, 1]
    # a chain: each step nearer than the threshold to the last, the far end well beyond it from the first
    step = (b - a) / np.linalg.norm(b - a) * 0.8 * SAME_PERSON
    chain = [a + k * step for k in range(4)]
    assert len(set(find_people(chain))) > 1


@dataclass(frozen=True)
class Photo:
    id: int
    path: str
    score: float | None = 0.5
    faces: list = field(default_factory=list)
    width: int = 1000
    height: int = 800
    captured_at: str | None = None


def face(box, who=None, eyes="open", sharpness=0.8) -> FaceBox:
    return FaceBox(box, 0.99, eyes, sharpness, None if who is None else unit(who))


def test_the_main_subject_is_key_and_a_small_face_at_the_edge_is_not():
    bride = (400, 250, 600, 500)
    guest = (20, 600, 70, 660)
    photos = [Photo(i, f"{i}.jpg", faces=[face(bride, who=1), face(guest, who=100 + i)]) for i in range(3)]
    key = KeyPeople(photos)
    assert [len(p.photo_ids) for p in key.recurring()] == [3]  # the bride, in every photo
    for p in photos:
        assert key.key_faces(p) == [p.faces[0]]
        roles = key.role(p.id)
        assert roles[0].key and not roles[1].key and roles[1].importance < 0.45
    group_shot = Photo(9, "9.jpg", faces=[face((100 + 200 * k, 300, 260 + 200 * k, 500), who=k) for k in range(4)])
    assert KeyPeople([group_shot]).key_faces(group_shot) == group_shot.faces  # a row of people: everyone


def test_a_blink_in_the_background_does_not_sink_a_frame_and_a_blink_on_the_subject_does():
    subject, background = (400, 250, 600, 500), (30, 30, 80, 90)
    blink_behind = Photo(1, "1.jpg", 0.5, [face(subject, 1, "open"), face(background, 2, "closed")])
    blink_front = Photo(2, "2.jpg", 0.9, [face(subject, 1, "closed"), face(background, 2, "open")])
    frames = [blink_front, blink_behind]
    key = KeyPeople(frames)
    ranked = rank_group(5, "burst", frames, faces_of=key.key_faces)
    assert ranked.best.photo.id == 1  # every key face open, despite the lower score
    assert "the only frame with the subject's eyes open" in key_reasons(frames, ranked.best.photo, key)
    assert any("key person" in r for r in key_reasons(frames, ranked.best.photo, key))
    everyone = rank_group(5, "burst", frames)  # judged on every face, both frames have a blink: the score decides
    assert everyone.best.photo.id == 2


@pytest.mark.slow
def test_dlibs_descriptor_tells_one_person_in_two_photos_and_the_pass_keeps_it(tmp_path):
    from selfie_desk.core.measures.face import Face
    from selfie_desk.neural import identity

    who = identity.FaceIdentifier.from_files()
    astronaut = Image.open(DEMO / "astronaut.png").convert("RGB")
    box = (165.0, 60.0, 270.0, 180.0)  # her face (RetinaFace's box, about)
    a = who.describe(np.asarray(astronaut), box)
    mirrored = np.asarray(ImageOps.mirror(astronaut))
    b = who.describe(mirrored, (512 - box[2], box[1], 512 - box[0], box[3]))
    small = np.asarray(astronaut.resize((384, 384)))
    c = who.describe(small, tuple(v * 0.75 for v in box))
    assert a.shape == (128,) and np.all(np.isfinite(a)) and np.linalg.norm(a) > 0.5
    assert np.linalg.norm(a - b) < SAME_PERSON and np.linalg.norm(a - c) < SAME_PERSON
    eyes = Face((0, 0, 30, 30), 0.9, ((10, 10), (14, 10), (12, 14), (10, 20), (14, 20)))
    assert identity.pick([eyes]) == set()  # eyes 4 px apart: too small to tell

    from selfie_desk.cli.common import load_scorer
    from selfie_desk.core.storage.catalog import Catalog
    from selfie_desk.neural import pipeline

    folder = tmp_path / "shoot"
    folder.mkdir()
    astronaut.save(folder / "a.jpg", quality=92)
    ImageOps.mirror(astronaut).save(folder / "b.jpg", quality=92)
    catalog = Catalog(tmp_path / "catalog.db")
    pipeline.score([folder], catalog, load_scorer("default", "cpu"))
    photos = catalog.photos("default", folder=str(folder))
    described = [max(p.faces, key=lambda f: f.confidence) for p in photos]
    assert all(f.identity is not None for f in described)
    assert np.linalg.norm(described[0].identity.astype(np.float32) - described[1].identity.astype(np.float32)) \
        < SAME_PERSON
    key = KeyPeople(photos)
    assert len(key.recurring()) == 1 and len(key.recurring()[0].photo_ids) == 2
