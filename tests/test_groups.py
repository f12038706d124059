"""Groups of one moment (issue 14): time, content, brackets, singles, the user's edits surviving a re-scan and a
re-grouping, the ranking within a group, the command's contract. Real SQLite; images from the bundled demo photos."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from conftest import catalog_at_version
from PIL import Image

from selfie_desk.core.culling.groups import (
    FILE_TIME_REASON,
    KINDS,
    GroupIndex,
    GroupingParams,
    Shot,
    group_shots,
    rank_group,
    ranked_groups,
    regroup,
)
from selfie_desk.core.measures.embedding import EMBEDDING_DIM, FEATURE_DIM, STATS_DIM
from selfie_desk.core.measures.registration import SIGNATURE_EDGE, Signatures, signature
from selfie_desk.core.storage.catalog import SCHEMA_VERSION, Catalog, Result

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo"
T0 = 1_750_000_000.0


def content(seed: int, jitter: float = 0.0, base: int | None = None) -> np.ndarray:
    """A pooled-layer-like vector (non-negative, as after ReLU and pooling); `jitter` moves it a little."""
    v = np.abs(np.random.default_rng(seed if base is None else base).normal(size=EMBEDDING_DIM)).astype(np.float32)
    if jitter:
        v = v + jitter * np.abs(np.random.default_rng(seed + 10_000).normal(size=EMBEDDING_DIM)).astype(np.float32)
    return v


def assert_partition(groups, ids) -> None:
    seen = [i for g in groups for i in g.ids]
    assert sorted(seen) == sorted(ids)  # every photo in exactly one group
    assert all(g.kind in KINDS for g in groups)


def kinds_of(groups) -> dict[frozenset[int], str]:
    return {frozenset(g.ids): g.kind for g in groups}


def test_a_burst_is_frames_moments_apart_with_the_same_content():
    shots = [Shot(i, T0 + 0.3 * i, content=content(i, 0.1, base=1)) for i in range(5)]
    groups = group_shots(shots)
    assert kinds_of(groups) == {frozenset(range(5)): "burst"}


def test_a_long_burst_with_a_soft_frame_stays_one_burst():
    """Found by using the command on a real burst: four frames 1.1 s apart, one blurred. The blurred frame's
    pooled features sit at a cosine of ~0.87 from its neighbours (unrelated photos ~0.5), and the first and
    last frames are 3.3 s apart, beyond the burst gap: still one burst, the soft frame in it."""
    sharp = content(0, base=1)
    frames = [sharp + 0.05 * content(10 + i) for i in range(4)]
    u = sharp / np.linalg.norm(sharp)
    other = content(99) - np.dot(content(99), u) * u  # what blur changes, at right angles to the content
    soft = 0.87 * u + np.sqrt(1 - 0.87**2) * other / np.linalg.norm(other)
    frames[2] = soft.astype(np.float32)
    sims = [float(np.dot(frames[2], f) / np.linalg.norm(frames[2]) / np.linalg.norm(f)) for f in (frames[1], frames[3])]
    assert all(0.85 <= c < 0.90 for c in sims), sims  # the case the first thresholds split off
    shots = [Shot(i, T0 + 1.1 * i, content=frames[i]) for i in range(4)]
    assert kinds_of(group_shots(shots)) == {frozenset(range(4)): "burst"}


def test_the_same_scene_minutes_apart_is_another_moment_and_other_content_seconds_apart_too():
    shots = [Shot(0, T0, content=content(0, 0.1, base=1)), Shot(1, T0 + 0.4, content=content(1, 0.1, base=1)),
             Shot(2, T0 + 180, content=content(2, 0.1, base=1)),  # three minutes later
             Shot(3, T0 + 181, content=content(3))]  # someone else a second after
    groups = group_shots(shots)
    assert_partition(groups, range(4))
    assert kinds_of(groups) == {frozenset({0, 1}): "burst", frozenset({2}): "single", frozenset({3}): "single"}


def test_the_same_scene_taken_again_within_the_similar_gap_is_similar():
    shots = [Shot(0, T0, content=content(0, 0.05, base=1)), Shot(1, T0 + 12, content=content(1, 0.05, base=1))]
    assert kinds_of(group_shots(shots)) == {frozenset({0, 1}): "similar"}
    assert len(group_shots(shots, GroupingParams(similar_gap_s=5))) == 2  # thresholds are parameters


def test_brackets_by_exif_bias_and_by_brightness():
    by_bias = [Shot(i, T0, content=content(i, 0.4, base=2), exposure_bias=ev) for i, ev in enumerate((0, -2, 2))]
    by_light = [Shot(10 + i, T0 + 600, content=content(i, 0.4, base=3), brightness=b)
                for i, b in enumerate((0.45, 0.2, 0.85))]
    groups = group_shots(by_bias + by_light)
    assert kinds_of(groups) == {frozenset({0, 1, 2}): "bracket", frozenset({10, 11, 12}): "bracket"}


def test_photos_without_any_data_are_singles_and_file_times_are_not_mixed_with_exif_times():
    shots = [Shot(1), Shot(2), Shot(3, T0, content=content(5)), Shot(4, T0 + 0.2, time_from_file=True,
                                                                   content=content(6, 0.01, base=5))]
    groups = group_shots(shots)
    assert_partition(groups, [1, 2, 3, 4])
    assert kinds_of(groups)[frozenset({3, 4})] == "similar"  # same content, clocks not comparable
    assert sum(g.kind == "single" for g in groups) == 2


def test_file_times_seconds_apart_never_make_a_burst_or_a_bracket():
    # a copied folder: the files' dates are the copy's, all seconds apart; content alike enough for a burst
    copied = [Shot(i, T0 + 0.2 * i, time_from_file=True, content=content(7, 0.05 * (i % 2), base=7),
                   brightness=(0.3, 0.8)[i % 2]) for i in range(4)]
    groups = group_shots(copied)
    assert {g.kind for g in groups} <= {"similar", "single"}
    # the same frames with a camera's clock are a bracket (brightness steps) or a burst
    camera = [replace(s, time_from_file=False) for s in copied]
    assert {g.kind for g in group_shots(camera)} & {"burst", "bracket"}


def test_ten_thousand_photos_in_one_minute_are_grouped_within_the_budget():
    rng = np.random.default_rng(0)
    scenes = np.abs(rng.normal(size=(400, EMBEDDING_DIM))).astype(np.float32)
    shots = [Shot(i, T0 + i * 0.006, content=scenes[i // 25] + 0.1 * np.abs(rng.normal(size=EMBEDDING_DIM)),
                  brightness=0.5) for i in range(10_000)]
    start = time.perf_counter()
    groups = group_shots(shots)
    elapsed = time.perf_counter() - start
    assert_partition(groups, range(10_000))
    assert elapsed < 2.0, f"{elapsed:.2f} s"
    assert len(groups) == 400


# ---- panoramas: registration of the stored signatures ---------------------------------------------------------------
def view(im: Image.Image) -> Image.Image:
    """`im` as the scoring pass's view holds it (long edge 480), JPEG noise included."""
    im = im.resize((480, round(480 * im.size[1] / im.size[0])), Image.Resampling.BICUBIC)
    a = np.asarray(im, np.float32) + np.random.default_rng(im.size[1]).normal(0, 2.0, (im.size[1], 480, 3))
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def pan_frames(n: int = 3, overlap: float = 0.4) -> list[Image.Image]:
    """n windows of the demo's widest photo (china.jpg, 640 x 427) panned left to right, 1 px of drift across."""
    wide = Image.open(DEMO / "china.jpg").convert("RGB")
    w = round(wide.width / (n - (n - 1) * overlap))
    step = round(w * (1 - overlap))
    h = round(w * 0.75)
    return [view(wide.crop((i * step, 20 + i, i * step + w, 20 + i + h))) for i in range(n)]


def shaken_frames(n: int = 3) -> list[Image.Image]:
    """n frames of one window with the camera shaken a few pixels and a little rotation: a burst."""
    wide = Image.open(DEMO / "china.jpg").convert("RGB")
    return [view(wide.rotate(0.4 * i, translate=(3 * i, -2 * i)).crop((100, 30, 420, 270))) for i in range(n)]


def test_signatures_are_small_grey_and_register_a_pan_but_not_a_burst():
    frames = pan_frames()
    sigs = [signature(f) for f in frames]
    assert sigs[0].dtype == np.uint8 and max(sigs[0].shape) == SIGNATURE_EDGE and sigs[0].nbytes < 4096
    pan = Signatures(sigs).register([0, 1], [1, 2], 0.2, 1.0)
    assert all(0.5 < s.dx < 0.7 and abs(s.dy) < 0.1 and s.agreement > 0.6 for s in pan), pan
    burst = Signatures([signature(f) for f in shaken_frames()])
    assert all(s.agreement < 0.6 for s in burst.register([0, 1], [1, 2], 0.2, 1.0))  # no large shift fits
    assert all(burst.still_agreement([0, 1], [1, 2]) > 0.8)
    other = Signatures([sigs[0], signature(view(Image.open(DEMO / "coffee.png").convert("RGB").resize((320, 240))))])
    assert other.still_agreement([0], [1])[0] < 0.3


def test_a_pan_of_three_overlapping_frames_is_a_panorama_and_never_a_burst():
    """The frames' embeddings are as alike as a burst's (a pan's frames show one scene): registration decides."""
    sigs = [signature(f) for f in pan_frames()]
    shots = [Shot(i, T0 + i, content=content(i, 0.1, base=1), signature=sigs[i]) for i in range(3)]
    assert kinds_of(group_shots(shots)) == {frozenset(range(3)): "panorama"}
    unsigned = [Shot(s.id, s.taken, content=s.content) for s in shots]  # scored before catalog 8: as before
    assert kinds_of(group_shots(unsigned)) == {frozenset(range(3)): "burst"}
    later = [Shot(s.id, T0 + 150 * s.id, content=content(s.id), signature=s.signature) for s in shots]
    assert all(g.kind == "single" for g in group_shots(later))  # minutes apart: no pan, whatever the overlap
    # (a real hand-held pan had 57 s between two frames: GroupingParams.panorama_gap_s)
    steps = [Shot(s.id, s.taken, content=s.content, signature=s.signature, exposure_bias=ev)
             for s, ev in zip(shots, (0.0, -2.0, 2.0), strict=True)]
    assert all(g.kind == "single" for g in group_shots(steps))  # exposure steps: not a pan, and moved: no bracket
    one = pan_frames()[0]
    bracket = [Shot(i, T0, content=content(i, 0.1, base=1), exposure_bias=ev,
                    signature=signature(Image.eval(one, lambda v, f=2.0 ** (ev / 2.2): min(255, int(v * f)))))
               for i, ev in enumerate((0.0, -1.0, 1.0))]
    assert kinds_of(group_shots(bracket)) == {frozenset(range(3)): "bracket"}  # one frame at three exposures


def test_a_burst_with_camera_shake_stays_a_burst():
    sigs = [signature(f) for f in shaken_frames(4)]
    shots = [Shot(i, T0 + 0.3 * i, content=content(i, 0.1, base=1), signature=sigs[i]) for i in range(4)]
    assert kinds_of(group_shots(shots)) == {frozenset(range(4)): "burst"}


def test_a_panorama_is_stored_and_keep_the_best_rejects_none_of_its_frames(tmp_path):
    frames = pan_frames()
    start = datetime(2026, 5, 1, 10, 0, 0)
    catalog = Catalog(tmp_path / "catalog.db")
    ids = []
    for i, frame in enumerate(frames):
        path = tmp_path / f"pan{i}.jpg"
        frame.save(path, quality=90)
        pid = catalog.add_file(str(path), path.stat().st_size, path.stat().st_mtime_ns, f"pan{i}")
        catalog.record([Result(pid, *frame.size, (start + timedelta(seconds=i)).isoformat(), 0.5 + 0.1 * i,
                               feature(content(i, 0.1, base=1)), embedding_id="x", signature=signature(frame))],
                       "default")
        ids.append(pid)
    stored = catalog.signatures(ids)
    assert all(np.array_equal(stored[pid], signature(f)) for pid, f in zip(ids, frames, strict=True))
    regroup(catalog, ids)
    assert groups_by_name(catalog, tmp_path) == {frozenset({"pan0.jpg", "pan1.jpg", "pan2.jpg"}): "panorama"}
    index = GroupIndex(ranked_groups(catalog, catalog.photos("default", folder=str(tmp_path))))
    plan = index.cull_plan(ids[0])
    assert plan is not None and plan.reject == [] and len(plan.left) == 2
    assert "never auto-rejected" in plan.message()


def test_a_catalog_before_signatures_migrates_and_its_photos_are_read_again_for_one(tmp_path):
    path = tmp_path / "old.db"
    db = catalog_at_version(path, 7)
    db.execute("INSERT INTO photos (path, size, mtime_ns, fingerprint, indexed_at, embedding, rating) "
               "VALUES ('/x.jpg', 1, 1, 'f', 0, ?, 2)", (np.zeros(FEATURE_DIM, np.float16).tobytes(),))
    db.execute("INSERT INTO scores (photo_id, model, score, scored_at) VALUES (1, 'default', 0.5, 0)")
    db.commit()
    db.close()
    with Catalog(path) as catalog:
        assert catalog.schema_version == SCHEMA_VERSION
        assert catalog.unsigned([1]) == {1} and not catalog.is_scored(1, "default")
        assert catalog.signatures([1]) == {} and catalog.photos("default", paths=["/x.jpg"])[0].rating == 2
        catalog.record([Result(1, 32, 24, None, 0.5, np.zeros(FEATURE_DIM, np.float32),
                               signature=np.zeros((48, 64), np.uint8))], "default")
        assert catalog.unsigned([1]) == set() and catalog.is_scored(1, "default")


# ---- real-shoot rules (issue 28): brackets by their content, a camera's burst mode ----------------------------------
def exposed(im: Image.Image, ev: float) -> Image.Image:
    """`im` as the camera would have taken it `ev` stops brighter or darker (clipped), sRGB-ish."""
    a = (np.asarray(im, np.float32) / 255.0) ** 2.2 * (2.0 ** ev)
    return Image.fromarray(np.clip(a ** (1 / 2.2) * 255.0, 0, 255).astype(np.uint8))


def bracket_shots(name: str = "coffee.png", first: int = 0, **kw) -> list[Shot]:
    base = view(Image.open(DEMO / name).convert("RGB"))
    frames = [exposed(base, ev) for ev in (-1.3, 0.0, 1.3)]
    return [Shot(first + i, T0 + 1 + i, content=content(first + i, 0.3, base=first + 9),
                 brightness=float(np.asarray(f.convert("L"), np.float32).mean() / 255), signature=signature(f), **kw)
            for i, f in enumerate(frames)]


def test_a_tripod_bracket_without_exif_is_named_by_its_exposure_steps_and_never_auto_rejected(tmp_path):
    exported = bracket_shots(time_from_file=True)  # exported PNG/JPEG: no EXIF time, no exposure fields
    assert kinds_of(group_shots(exported)) == {frozenset({0, 1, 2}): "bracket"}
    manual = [replace(s, time_from_file=False, taken=T0 + 20 * s.id) for s in exported]  # manual exposures, 20 s
    assert kinds_of(group_shots(manual)) == {frozenset({0, 1, 2}): "bracket"}
    step, consistency = Signatures([s.signature for s in exported]).exposure_steps([0, 1], [1, 2])
    assert np.all(step > 0.3) and np.all(consistency > 0.95)  # brighter everywhere
    # two different pictures a step apart in brightness, exported one after the other: no bracket
    other = [replace(bracket_shots("astronaut.png", first=10, time_from_file=True)[2], taken=T0 + 2)]
    mixed = [exported[0], *other]
    assert all(g.kind != "bracket" for g in group_shots(mixed))
    index = GroupIndex([rank_group(1, "bracket", [P(s.id, f"{s.id}.png", 0.5 + 0.1 * s.id) for s in exported])])
    plan = index.cull_plan(0)
    assert plan is not None and plan.reject == [] and len(plan.left) == 2


def test_a_camera_burst_mode_holds_a_fast_moving_subject_and_photos_a_second_apart_stay_apart():
    frames = pan_frames(4, overlap=0.8)  # a tracking shot: the scene slides by a fifth of the frame per frame
    sigs = [signature(f) for f in frames]
    moving = content(30)
    burst = [Shot(i, T0 + 0.125 * i, content=moving + 0.9 * content(40 + i), signature=sigs[i]) for i in range(4)]
    sims = [float(np.dot(a.content, b.content) / np.linalg.norm(a.content) / np.linalg.norm(b.content))
            for a, b in zip(burst, burst[1:], strict=False)]
    assert all(0.80 < v < 0.95 for v in sims), sims  # as alike as a real sports burst's frames, not more
    assert kinds_of(group_shots(burst)) == {frozenset(range(4)): "burst"}
    # the same frames a second apart: no longer a camera's burst mode, and their signatures do not agree unshifted
    slow = [replace(s, taken=T0 + 1.0 * s.id) for s in burst]
    assert all(g.kind != "burst" for g in group_shots(slow))
    # the user's time gap below the frames' interval: no burst, whatever the burst mode
    assert all(g.kind != "burst" for g in group_shots(burst, GroupingParams(burst_gap_s=0.1)))


# ---- ranking ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Face:  # a face record as the eyes branch will store it
    eyes: str | None = None
    sharpness: float | None = None


@dataclass(frozen=True)
class P:
    id: int
    path: str
    score: float | None
    faces: tuple = ()


def test_the_best_has_every_eye_open_then_the_sharpest_face_then_the_highest_score():
    blink = P(1, "a.jpg", 0.9, (Face("open"), Face("closed")))
    soft = P(2, "b.jpg", 0.8, (Face("open", 0.3), Face("open", 0.4)))
    sharp = P(3, "c.jpg", 0.7, (Face("open", 0.8), Face("open", 0.9)))
    ranked = rank_group(7, "burst", [blink, soft, sharp])
    assert [m.photo.id for m in ranked.members] == [3, 2, 1]
    assert ranked.best.best and ranked.best.reasons == ["all eyes open", "sharpest face"]
    assert "closed eyes" in ranked.members[2].reasons
    assert [p.id for p in ranked.to_reject()] == [2, 1]


def test_among_frames_in_focus_the_score_decides_and_a_clearly_soft_frame_never_wins():
    # 0.05 apart is measuring noise between equally sharp frames; 0.3 below the sharpest is soft
    a = P(1, "a.jpg", 0.70, (Face("open", 0.82),))
    b = P(2, "b.jpg", 0.83, (Face("open", 0.77),))
    soft = P(3, "c.jpg", 0.95, (Face("open", 0.50),))
    ranked = rank_group(8, "burst", [a, b, soft])
    assert [m.photo.id for m in ranked.members] == [2, 1, 3]
    assert ranked.best.reasons == ["face in focus"]  # b beat the softer frame on focus, not on score alone
    assert ranked.members[1].reasons == ["lower score than the best"]  # a: in focus too, not "softer"
    assert ranked.members[2].reasons == ["softer face than the best"]
    assert rank_group(9, "burst", [a, b]).best.reasons == ["highest score in the burst"]


def test_without_face_data_the_score_decides_and_brackets_are_never_auto_rejected():
    photos = [P(1, "a.jpg", 0.4), P(2, "b.jpg", 0.6), P(3, "c.jpg", None)]
    burst = rank_group(1, "burst", photos)
    assert [m.photo.id for m in burst.members] == [2, 1, 3]
    assert burst.best.reasons == ["highest score in the burst"]
    bracket = rank_group(2, "bracket", photos)
    assert bracket.to_reject() == [] and "never auto-rejected" in bracket.best.reasons[-1]


@dataclass(frozen=True)
class Bad(P):
    error: str | None = None


def test_an_unreadable_photo_says_why_and_nothing_else():
    """Found by running `groups` on a zero-byte and a truncated JPEG: their rows said "no other photo of this
    moment; capture time from the file's date", never that they could not be read."""
    bad = Bad(4, "empty.jpg", None, error="empty file (0 bytes)")
    single = rank_group(3, "single", [bad], file_time_ids=frozenset({4}))
    assert single.best.reasons == ["could not be read: empty file (0 bytes)"]


# ---- the catalog ----------------------------------------------------------------------------------------------------
def feature(vec: np.ndarray, brightness: float = 0.5) -> np.ndarray:
    out = np.zeros(FEATURE_DIM, np.float32)
    out[:EMBEDDING_DIM] = vec / np.linalg.norm(vec) * 10
    out[EMBEDDING_DIM + STATS_DIM] = brightness
    return out


def scan(catalog: Catalog, folder: Path, photos: dict[str, tuple[np.ndarray, str]]) -> dict[str, int]:
    """A scan's outcome stored as the scoring pass stores it: files (real ones), embeddings, times, scores."""
    ids = catalog.photo_ids_by_path([str(folder / n) for n in photos])
    out = {}
    for i, (name, (vec, when)) in enumerate(sorted(photos.items())):
        path = folder / name
        if not path.exists():
            Image.new("RGB", (32, 32), (i * 20 % 255, 90, 30)).save(path)
        pid = ids.get(str(path)) or catalog.add_file(str(path), path.stat().st_size, path.stat().st_mtime_ns, name)
        catalog.record([Result(pid, 32, 32, when, 0.1 * i, feature(vec), embedding_id="x")], "default")
        out[name] = pid
    return out


def burst_shoot(tmp_path: Path):
    start = datetime(2026, 5, 1, 10, 0, 0)
    shoot = {f"burst{i}.jpg": (content(i, 0.1, base=1), (start + timedelta(seconds=0.3 * i)).isoformat())
             for i in range(4)}
    shoot["later.jpg"] = (content(9), (start + timedelta(minutes=5)).isoformat())
    catalog = Catalog(tmp_path / "catalog.db")
    return catalog, scan(catalog, tmp_path, shoot), shoot


def groups_by_name(catalog: Catalog, folder: Path) -> dict[frozenset[str], str]:
    photos = catalog.photos("default", folder=str(folder))
    return {frozenset(Path(m.photo.path).name for m in g.members): g.kind for g in ranked_groups(catalog, photos)}


def test_groups_are_stored_and_listed(tmp_path):
    catalog, ids, _ = burst_shoot(tmp_path)
    regroup(catalog, list(ids.values()))
    assert groups_by_name(catalog, tmp_path) == {frozenset({f"burst{i}.jpg" for i in range(4)}): "burst",
                                                 frozenset({"later.jpg"}): "single"}
    photos = {Path(p.path).name: p for p in catalog.photos("default", folder=str(tmp_path))}
    assert photos["burst0.jpg"].group_id == photos["burst3.jpg"].group_id != photos["later.jpg"].group_id
    before = photos["burst0.jpg"].group_id
    regroup(catalog, list(ids.values()))  # nothing changed: nothing renumbered
    assert catalog.photos("default", paths=[str(tmp_path / "burst0.jpg")])[0].group_id == before


def test_the_users_split_merge_and_move_survive_a_rescan_and_a_regrouping(tmp_path):
    catalog, ids, shoot = burst_shoot(tmp_path)
    regroup(catalog, list(ids.values()))
    burst = catalog.photos("default", paths=[str(tmp_path / "burst0.jpg")])[0].group_id
    later = catalog.photos("default", paths=[str(tmp_path / "later.jpg")])[0].group_id
    split = catalog.split_group(burst, [ids["burst2.jpg"], ids["burst3.jpg"]])
    catalog.move_to_group(ids["later.jpg"], split)
    assert catalog.group(later) is None  # emptied by the move
    scan(catalog, tmp_path, shoot)  # a re-scan
    regroup(catalog, list(ids.values()))  # and a re-grouping
    expected = {frozenset({"burst0.jpg", "burst1.jpg"}): "burst",
                frozenset({"burst2.jpg", "burst3.jpg", "later.jpg"}): "burst"}
    assert groups_by_name(catalog, tmp_path) == expected
    merged = catalog.merge_groups([burst, split])
    regroup(catalog, list(ids.values()))
    assert groups_by_name(catalog, tmp_path) == {frozenset(shoot): "burst"}
    assert catalog.group(merged).manual


def test_split_and_merge_are_undone_and_redone_as_one_edit_each(tmp_path):
    from selfie_desk.core.culling.history import EditHistory

    catalog, ids, shoot = burst_shoot(tmp_path)
    regroup(catalog, list(ids.values()))
    history = EditHistory(catalog, scope=str(tmp_path))
    auto = groups_by_name(catalog, tmp_path)
    assert auto == {frozenset({"burst0.jpg", "burst1.jpg", "burst2.jpg", "burst3.jpg"}): "burst",
                    frozenset({"later.jpg"}): "single"}
    burst = catalog.photos("default", paths=[str(tmp_path / "burst0.jpg")])[0].group_id
    off = [ids["burst2.jpg"], ids["burst3.jpg"]]
    edit = history.apply_groups("Split group", off, lambda: catalog.split_group(burst, off))
    assert edit is not None and edit.regrouped and set(edit.photo_ids) == set(ids.values()) - {ids["later.jpg"]}
    split = groups_by_name(catalog, tmp_path)
    assert split == {frozenset({"burst0.jpg", "burst1.jpg"}): "burst", frozenset({"burst2.jpg", "burst3.jpg"}): "burst",
                     frozenset({"later.jpg"}): "single"}
    # a merge of the split-off pair with the single, then both undone in turn, then redone
    pair = catalog.photos("default", paths=[str(tmp_path / "burst2.jpg")])[0].group_id
    single = catalog.photos("default", paths=[str(tmp_path / "later.jpg")])[0].group_id
    history.apply_groups("Merge groups", [*off, ids["later.jpg"]], lambda: catalog.merge_groups([pair, single]))
    merged = groups_by_name(catalog, tmp_path)
    assert frozenset({"burst2.jpg", "burst3.jpg", "later.jpg"}) in merged
    assert history.undo().label == "Merge groups" and groups_by_name(catalog, tmp_path) == split
    assert history.undo().label == "Split group" and groups_by_name(catalog, tmp_path) == auto
    assert catalog.group(burst) is not None and not catalog.group(burst).manual  # as grouping made it: its id too
    assert history.undo() is None
    assert history.redo().label == "Split group" and groups_by_name(catalog, tmp_path) == split
    assert history.redo().label == "Merge groups" and groups_by_name(catalog, tmp_path) == merged
    assert all(g.manual for g in catalog.groups(off))
    # a split that fails half way changes nothing and logs nothing
    whole = catalog.photos("default", paths=[str(tmp_path / "burst0.jpg")])[0].group_id
    before = groups_by_name(catalog, tmp_path)

    def bad() -> None:
        catalog.split_group(whole, [ids["burst0.jpg"]])
        catalog.split_group(whole, [ids["burst1.jpg"]])  # the group's last frame: refused

    with pytest.raises(ValueError):
        history.apply_groups("Split group", [ids["burst0.jpg"], ids["burst1.jpg"]], bad)
    assert groups_by_name(catalog, tmp_path) == before and history.next_undo().label == "Merge groups"
    # undo after a photo left the catalog: the rest is put back
    history.undo()
    catalog.mark_missing([ids["later.jpg"]])
    catalog.purge_missing(older_than_s=-1)
    history.redo()
    assert groups_by_name(catalog, tmp_path)[frozenset({"burst2.jpg", "burst3.jpg"})] == "burst"


def test_a_renamed_photo_keeps_its_group_and_a_deleted_one_leaves_it(tmp_path):
    catalog, ids, _ = burst_shoot(tmp_path)
    regroup(catalog, list(ids.values()))
    group = catalog.photos("default", paths=[str(tmp_path / "burst1.jpg")])[0].group_id
    (tmp_path / "burst1.jpg").rename(tmp_path / "renamed.jpg")
    st = (tmp_path / "renamed.jpg").stat()
    catalog.move_file(ids["burst1.jpg"], str(tmp_path / "renamed.jpg"), st.st_size, st.st_mtime_ns)
    catalog.mark_missing([ids["burst3.jpg"]])
    assert catalog.photos("default", paths=[str(tmp_path / "renamed.jpg")])[0].group_id == group
    assert groups_by_name(catalog, tmp_path) == {frozenset({"burst0.jpg", "renamed.jpg", "burst2.jpg"}): "burst",
                                                 frozenset({"later.jpg"}): "single"}
    catalog.purge_missing(older_than_s=-1)
    assert ids["burst3.jpg"] not in catalog.group(group).photo_ids


def test_the_migration_keeps_the_users_data(tmp_path):
    path = tmp_path / "old.db"
    db = catalog_at_version(path, 4)
    db.execute("INSERT INTO photos (path, size, mtime_ns, fingerprint, indexed_at, decision, rating) "
               "VALUES ('/x.jpg', 1, 1, 'f', 0, 'keep', 4)")
    db.commit()
    db.close()
    with Catalog(path) as catalog:
        assert catalog.schema_version == SCHEMA_VERSION
        photo = catalog.photos("default", paths=["/x.jpg"])[0]
        assert (photo.decision, photo.rating, photo.group_id) == ("keep", 4, None)


def test_members_timed_by_their_file_say_so(tmp_path):
    catalog = Catalog(tmp_path / "catalog.db")
    ids = scan(catalog, tmp_path, {"a.jpg": (content(1), None)})
    regroup(catalog, list(ids.values()))
    (group,) = ranked_groups(catalog, catalog.photos("default", folder=str(tmp_path)))
    assert group.kind == "single" and FILE_TIME_REASON in group.best.reasons


# ---- the command line (slow: a subprocess and the real convnet) ----------------------------------------------------
def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "selfie_desk", *args], capture_output=True, text=True, timeout=300)


def write_burst(folder: Path) -> None:
    """Three frames of a demo photo 0.3 s apart with a little shake, and another demo photo a minute later."""
    folder.mkdir()
    start = datetime(2026, 5, 1, 10, 0, 0)
    base = Image.open(DEMO / "chelsea.png").convert("RGB")
    for i in range(3):
        when = start + timedelta(seconds=0.3 * i)
        exif = Image.Exif()
        ifd = exif.get_ifd(0x8769)
        ifd[0x9003], ifd[0x9291] = when.strftime("%Y:%m:%d %H:%M:%S"), f"{when.microsecond // 1000:03d}"
        base.rotate(0.5 * i, translate=(i, -i)).save(folder / f"burst{i}.jpg", quality=90, exif=exif)
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = (start + timedelta(minutes=1)).strftime("%Y:%m:%d %H:%M:%S")
    Image.open(DEMO / "rocket.jpg").convert("RGB").save(folder / "rocket.jpg", exif=exif)


@pytest.mark.slow
def test_groups_json_contract_and_exit_codes(tmp_path):
    write_burst(tmp_path / "shoot")
    done = run("groups", str(tmp_path / "shoot"), "--json", "--device", "cpu")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    for row in rows:
        assert list(row) == ["group", "kind", "members", "thresholds"]  # thresholds: added in issue 28
        assert row["thresholds"] == {"burst_similarity": 0.85, "burst_gap_s": 2.0}  # nobody chose: the defaults
        assert isinstance(row["group"], int) and row["kind"] in KINDS
        assert sum(m["best"] for m in row["members"]) == 1 and row["members"][0]["best"]
        for m in row["members"]:
            assert list(m) == ["path", "score", "best", "reasons", "pair"]
            assert m["pair"] is None  # no raws here (tests/test_raw.py has the pairs)
            assert isinstance(m["path"], str) and isinstance(m["score"], float)
            assert all(isinstance(r, str) for r in m["reasons"])
    paths = sorted(Path(m["path"]).name for row in rows for m in row["members"])
    assert paths == ["burst0.jpg", "burst1.jpg", "burst2.jpg", "rocket.jpg"]  # each exactly once
    kinds = {frozenset(Path(m["path"]).name for m in row["members"]): row["kind"] for row in rows}
    assert kinds == {frozenset({"burst0.jpg", "burst1.jpg", "burst2.jpg"}): "burst",
                     frozenset({"rocket.jpg"}): "single"}
    listed = [json.loads(line) for line in run("list", str(tmp_path / "shoot"), "--json").stdout.splitlines()]
    by_group = {row["group"]: row for row in rows}
    assert all(isinstance(r["group"], int) and r["group"] in by_group for r in listed)
    table = run("groups", str(tmp_path / "shoot"), "--device", "cpu")
    assert table.returncode == 0 and "burst" in table.stdout
    assert run("groups", str(tmp_path / "nowhere")).returncode == 2


def test_the_grouping_stamp_moves_with_every_change_of_the_groups_and_keeps_the_thresholds(tmp_path):
    catalog = Catalog(tmp_path / "catalog.db")
    start = datetime(2026, 5, 1, 10, 0, 0)
    ids = scan(catalog, tmp_path, {f"b{i}.jpg": (content(i, 0.05, base=1), (start + timedelta(seconds=0.2 * i))
                                                 .isoformat()) for i in range(3)})
    generation, thresholds = catalog.grouping_stamp()
    assert (generation, thresholds) == (0, None)
    regroup(catalog, list(ids.values()), GroupingParams(burst_gap_s=1.0))
    generation, thresholds = catalog.grouping_stamp()
    assert generation == 1 and thresholds == {"burst_similarity": 0.85, "burst_gap_s": 1.0}
    (group,) = catalog.groups(list(ids.values()))
    catalog.split_group(group.id, [ids["b2.jpg"]])
    assert catalog.grouping_stamp()[0] == 2
    catalog.merge_groups([g.id for g in catalog.groups(list(ids.values()))])
    assert catalog.grouping_stamp() == (3, {"burst_similarity": 0.85, "burst_gap_s": 1.0})  # an edit keeps them


def test_a_catalog_before_identities_migrates_keeping_faces_and_groups_and_reads_those_photos_again(tmp_path):
    path = tmp_path / "old.db"
    db = catalog_at_version(path, 8)
    db.execute("INSERT INTO photos (path, size, mtime_ns, fingerprint, indexed_at, embedding, signature, "
               "signature_width, rating) VALUES ('/x.jpg', 1, 1, 'f', 0, ?, ?, 8, 3)",
               (np.zeros(FEATURE_DIM, np.float16).tobytes(), bytes(48)))
    db.execute("INSERT INTO scores (photo_id, model, score, scored_at) VALUES (1, 'default', 0.5, 0)")
    db.execute("INSERT INTO faces (photo_id, x0, y0, x1, y1, confidence, eyes, sharpness) "
               "VALUES (1, 0, 0, 10, 10, 0.9, 'open', 0.5)")
    db.execute("INSERT INTO photo_groups (id, kind, manual, made_at) VALUES (7, 'single', 1, 0)")
    db.execute("INSERT INTO group_members (photo_id, group_id) VALUES (1, 7)")
    db.commit()
    db.close()
    with Catalog(path) as catalog:
        assert catalog.schema_version == SCHEMA_VERSION
        photo = catalog.photos("default", paths=["/x.jpg"])[0]
        assert (photo.rating, photo.group_id, photo.faces[0].eyes, photo.faces[0].identity) == (3, 7, "open", None)
        assert catalog.unidentified_faces([1]) == {1} and not catalog.is_scored(1, "default")
        assert catalog.grouping_stamp() == (0, None)
        who = np.linspace(-0.2, 0.2, 128).astype(np.float32)
        catalog.record([Result(1, 32, 24, None, 0.5, np.zeros(FEATURE_DIM, np.float32),
                               faces=[((0, 0, 10, 10), 0.9, ()), ((0, 0, 2, 2), 0.5, ())],
                               face_checks=[("open", 0.5), ("unknown", None)], face_identities=[who, None],
                               signature=np.zeros((48, 64), np.uint8))], "default")
        assert catalog.unidentified_faces([1]) == set() and catalog.is_scored(1, "default")
        faces = catalog.photos("default", paths=["/x.jpg"])[0].faces
        assert np.allclose(faces[0].identity, who, atol=1e-3) and faces[1].identity is None  # too small: empty


def test_features_kept_in_float16_group_as_in_float32_and_their_cosines_agree():
    """Grouping keeps the catalog's float16 features and widens them a slice at a time (issue 31's memory): the same
    groups as from float32 copies, over more photos than one slice, borderline neighbours and photos without any."""
    from selfie_desk.core.culling.groups import SLICE, _pair_sims

    rng = np.random.default_rng(3)
    n = SLICE + 700
    scenes = np.abs(rng.normal(size=(n // 6 + 1, EMBEDDING_DIM)))
    feats = np.stack([scenes[i // 6] + 0.7 * np.abs(rng.normal(size=EMBEDDING_DIM)) for i in range(n)])
    feats[::97] = 0  # no content
    half = feats.astype(np.float16)
    for k in (1, 3):
        wide = half.astype(np.float64)
        norms = np.linalg.norm(wide, axis=1)
        inv = np.where(norms > 0, 1 / np.where(norms > 0, norms, 1), 0).astype(np.float32)
        want = np.einsum("ij,ij->i", wide[k:], wide[:-k]) * inv[k:] * inv[:-k]
        np.testing.assert_allclose(_pair_sims(half, inv, 3)[k], want, atol=1e-6)
    times = T0 + 0.5 * np.arange(n)
    as_half = group_shots([Shot(i, float(times[i]), content=half[i]) for i in range(n)])
    as_wide = group_shots([Shot(i, float(times[i]), content=half[i].astype(np.float32)) for i in range(n)])
    assert as_half == as_wide and len(as_half) > 1 and any(len(g.ids) > 1 for g in as_half)
