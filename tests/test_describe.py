"""One description of a photo, three forms (grid tooltip, side panel, loupe caption), without Qt."""

from selfie_desk.core.measures.describe import Form, describe
from selfie_desk.core.storage.catalog import FaceBox, Photo


def photo(**kw) -> Photo:
    base = dict(id=1, path="/shoot/a<1>.jpg", width=4000, height=3000, captured_at="2026-05-01T10:00:00",
                error=None, score=0.8123, decision="keep", rating=3, crop=(0.0, 0.0, 3000.4, 2000.6),
                faces=[FaceBox((0, 0, 1, 1), 0.97)], best_crop_score=0.9, crop_score=0.85,
                look={"aspects": {"sharpness": 0.7}, "reasons": ["slightly dark"]})
    base.update(kw)
    return Photo(**base)


def test_the_three_forms_say_the_same_facts_in_their_own_room():
    p = photo()
    assert describe(p, Form.TOOLTIP).split("\n") == [
        "a<1>.jpg", "Score 0.812", "Accepted crop 0.850", "4000 × 3000", "Cropped to 3000 × 2001", "1 face"]
    panel = describe(p, Form.PANEL, rank=2, scored=5).split("<br>")
    assert panel[:3] == ["<b>a&lt;1&gt;.jpg</b>", "Score <b>0.812</b>", "Rank #2 of 5, better than 75% of the others"]
    assert panel[-5:] == ["Accepted crop <b>0.850</b>", "4000 × 3000 px", "Cropped to 3000 × 2001 px",
                          "Taken 2026-05-01 10:00:00", "Pick &nbsp; <span style='color:#f0b428'>★★★☆☆</span>"]
    assert "1 face: 97% sure; can't tell" in panel and "Why: slightly dark" in panel
    caption = describe(p, Form.CAPTION, rank=2, scored=5).split(" &nbsp;·&nbsp; ")
    assert caption[1:3] == ["score <b>0.812</b>", "#2 of 5 in this folder"] and "1 face (97%; can't tell)" in caption
    assert "cropped to 3000 × 2001" in caption and not any("crop 0." in c for c in caption)


def test_each_faces_eyes_are_said_and_unknown_ones_as_cant_tell_not_as_nothing():
    p = photo(faces=[FaceBox((0, 0, 1, 1), 0.97, "open"), FaceBox((2, 2, 3, 3), 0.9, "closed"),
                     FaceBox((4, 4, 5, 5), 0.85, "unknown")])
    assert "3 faces (97%, 90%, 85%; eyes open, eyes closed, can't tell)" in describe(p, Form.CAPTION).split(
        " &nbsp;·&nbsp; ")


def test_an_unreadable_photo_says_why_in_every_form():
    p = photo(error="not a JPEG <really>", score=None, faces=[], crop=None, crop_score=None, best_crop_score=None)
    assert "Cannot read: not a JPEG <really>" in describe(p, Form.TOOLTIP)
    assert "Cannot read: not a JPEG &lt;really&gt;" in describe(p, Form.PANEL)
    assert "cannot read: not a JPEG &lt;really&gt;" in describe(p, Form.CAPTION)
    assert "face" not in describe(p, Form.CAPTION) and "face" not in describe(p, Form.PANEL)
