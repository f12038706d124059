"""The key people of a shoot: who recurs across its photos, and in each photo the faces that matter.

Same person: each face's identity (dlib's 128-value descriptor, neural/identity.py) is matched across the folder's
photos in time order against the people found so far (the running mean of each person's faces): nearer than
SAME_PERSON joins that person, else a new person begins. Matching a face against a person's mean rather than against
any one face keeps a chain of look-alikes from joining two people. The distance was chosen on the tuning half of
real portraits (tools/people_eval.py --split tune) and measured on the other half and on other real photos of
recurring people (docs/benchmarks.md).

The faces that matter in a photo (what Narrative calls key people, Aftershoot the key subject): a face counts by
its size against the photo's largest face, its place (the centre more than an edge), its focus against the photo's
sharpest face, and how often its person appears in the shoot; the faces within KEY_SHARE of the photo's most
important one are its key faces, so a blink or a soft face in the background does not sink a photo and a blink on
the main subject does. A photo whose faces have no identity (scored before catalog 9, or too small to tell) counts
every face by size, place and focus alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

SAME_PERSON = 0.40  # Euclidean distance of two descriptors of one person (tools/people_eval.py; dlib says 0.6)
KEY_SHARE = 0.45  # a face is key when its importance is at least this share of the photo's most important face's
MIN_KEY_HEIGHT = 0.04  # and at least this share of the photo's height: a tiny face is nobody's subject
CANDIDATES = 512  # people a face is compared with at most (find_people)


@dataclass
class Person:
    """One person of the shoot: its number (1, 2, ... by first appearance), the photos it is in, and its faces'
    running mean descriptor."""

    number: int
    photo_ids: list[int] = field(default_factory=list)
    mean: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros(0, np.float32), repr=False)
    faces: int = 0


@dataclass(frozen=True)
class FaceRole:
    """One face of one photo: whose it is (a Person's number, or 0: unknown), how much it matters, and whether
    it is a key face."""

    index: int  # in the photo's faces
    person: int
    importance: float
    key: bool


def find_people(vectors: Sequence[npt.NDArray[Any] | None], threshold: float = SAME_PERSON) -> list[int]:
    """A person number per vector (1, 2, ... in order of first appearance; 0 for None), matching each against the
    running means of the people found before it: one product of the vector with the means (their squared norms
    kept). Past CANDIDATES people (a crowd: a marathon's runners), a face is matched against the people seen most
    recently and those seen most often only, so the cost stays linear: 13,000 faces of 13,000 strangers in about a
    second, not minutes (docs/benchmarks.md); someone seen twice hours apart in a crowd may then count as two."""
    dim = next((len(v) for v in vectors if v is not None and len(v)), 0)
    means = np.zeros((64, dim), np.float32)
    norms = np.zeros(64, np.float32)  # each mean's squared norm
    counts = np.zeros(64, np.int64)
    seen = np.zeros(64, np.int64)  # when each person was last matched (the face's index)
    found = 0
    pool = np.zeros(0, np.int64)  # the people compared with, once there are more than CANDIDATES (sorted)
    pool_means = np.zeros((0, dim), np.float32)
    pool_norms = np.zeros(0, np.float32)
    out = []
    limit = threshold * threshold
    for k, v in enumerate(vectors):
        if v is None or len(v) != dim or dim == 0:
            out.append(0)
            continue
        x = np.asarray(v, np.float32)
        if found:
            if found <= CANDIDATES:
                d2 = norms[:found] - 2.0 * (means[:found] @ x)
                best = j = int(np.argmin(d2))
            else:
                if k % 64 == 0 or pool.size == 0:  # refreshed now and then: the recent and the frequent
                    half = CANDIDATES // 2
                    recent = np.argpartition(-seen[:found], half)[:half]
                    often = np.argpartition(-counts[:found], half)[:half]
                    pool = np.unique(np.concatenate([recent, often]))
                    pool_means, pool_norms = means[pool], norms[pool]
                newest = slice(max(0, found - 64), found)  # those found since the pool was made
                d_pool = pool_norms - 2.0 * (pool_means @ x)
                d_new = norms[newest] - 2.0 * (means[newest] @ x)
                i, i_new = int(np.argmin(d_pool)), int(np.argmin(d_new))
                if d_new[i_new] < d_pool[i]:
                    d2, best, j = d_new, i_new, newest.start + i_new
                else:
                    d2, best, j = d_pool, i, int(pool[i])
            if d2[best] + float(x @ x) < limit:
                counts[j] += 1
                means[j] += (x - means[j]) / counts[j]
                norms[j] = float(means[j] @ means[j])
                seen[j] = k
                if pool.size and found > CANDIDATES:  # the pool's copy of this person follows too
                    where = np.searchsorted(pool, j)
                    if where < pool.size and pool[where] == j:
                        pool_means[where], pool_norms[where] = means[j], norms[j]
                out.append(j + 1)
                continue
        if found == len(means):  # room for more people: double it
            means = np.vstack([means, np.zeros_like(means)])
            norms, counts, seen = (np.concatenate([a, np.zeros_like(a)]) for a in (norms, counts, seen))
        means[found], norms[found], counts[found], seen[found] = x, float(x @ x), 1, k
        found += 1
        out.append(found)
    return out


class KeyPeople:
    """The people of a set of photos (one folder, in time order) and each photo's face roles."""

    def __init__(self, photos: Sequence[Any], threshold: float = SAME_PERSON) -> None:
        ordered = sorted(photos, key=lambda p: (getattr(p, "captured_at", None) or "", p.path))
        owners = [(p, i) for p in ordered for i, _f in enumerate(getattr(p, "faces", []) or [])]
        numbers = find_people([getattr(p.faces[i], "identity", None) for p, i in owners], threshold)
        self.people: dict[int, Person] = {}
        whose: dict[tuple[int, int], int] = {}
        for (p, i), n in zip(owners, numbers, strict=True):
            whose[(p.id, i)] = n
            if n:
                person = self.people.setdefault(n, Person(n))
                if not person.photo_ids or person.photo_ids[-1] != p.id:
                    person.photo_ids.append(p.id)
                person.faces += 1
        most = max((len(person.photo_ids) for person in self.people.values()), default=1)
        recurrence = {n: len(pe.photo_ids) / most for n, pe in self.people.items()}
        self.roles: dict[int, list[FaceRole]] = {}
        for p in ordered:
            faces = list(getattr(p, "faces", []) or [])
            if faces:
                self.roles[p.id] = _roles(p, faces, [whose[(p.id, i)] for i in range(len(faces))], recurrence)

    def key_faces(self, photo: Any) -> list[Any]:
        """The faces that matter in `photo` (all of them when it is not one of these photos)."""
        faces = list(getattr(photo, "faces", []) or [])
        roles = self.roles.get(photo.id)
        if roles is None or len(roles) != len(faces):
            return faces
        return [faces[r.index] for r in roles if r.key]

    def role(self, photo_id: int) -> list[FaceRole]:
        return self.roles.get(photo_id, [])

    def recurring(self, least: int = 2) -> list[Person]:
        """The people in at least `least` photos, the most frequent first."""
        found = [p for p in self.people.values() if len(p.photo_ids) >= least]
        return sorted(found, key=lambda p: (-len(p.photo_ids), p.number))

    def person_of(self, photo_id: int, face_index: int) -> int:
        for r in self.roles.get(photo_id, []):
            if r.index == face_index:
                return r.person
        return 0


def _roles(photo: Any, faces: list[Any], people: list[int], recurrence: dict[int, float]) -> list[FaceRole]:
    """Each face's importance: size against the largest face x place x focus x how often its person appears."""
    heights = [max(1.0, f.box[3] - f.box[1]) for f in faces]
    tallest = max(heights)
    w = float(getattr(photo, "width", None) or max(f.box[2] for f in faces))
    h = float(getattr(photo, "height", None) or max(f.box[3] for f in faces))
    sharp = [getattr(f, "sharpness", None) for f in faces]
    sharpest = max((s for s in sharp if s is not None), default=None)
    out = []
    for i, f in enumerate(faces):
        size = heights[i] / tallest
        cx, cy = (f.box[0] + f.box[2]) / 2 / w, (f.box[1] + f.box[3]) / 2 / h
        off = min(1.0, float(np.hypot(cx - 0.5, cy - 0.5)) / 0.5)  # 0 at the centre, 1 at a corner's reach
        place = 1.0 - 0.4 * off
        mine = sharp[i]
        focus = 1.0 if sharpest is None or mine is None or sharpest <= 0 else 0.7 + 0.3 * float(mine) / sharpest
        often = 0.6 + 0.4 * recurrence.get(people[i], 0.0) if people[i] else 0.8
        out.append((size * place * focus * often, heights[i] / h))
    top = max(v for v, _ in out)
    return [FaceRole(i, people[i], round(v / top, 4), v >= KEY_SHARE * top and (rel >= MIN_KEY_HEIGHT or v == top))
            for i, (v, rel) in enumerate(out)]


# ---- the moment within a group: what the key people say of each frame -----------------------------------------------
def key_reasons(frames: Sequence[Any], best: Any, key: KeyPeople) -> list[str]:
    """What the key people add to the best frame's reasons: when eyes and focus were judged on fewer faces than the
    photos hold (background faces left out), and when the best is the only frame where every key person's eyes are
    open."""
    out = []
    mine = key.key_faces(best)
    everyone = list(getattr(best, "faces", []) or [])
    if mine and len(mine) < len(everyone):
        n = len(mine)
        out.append(f"judged on the {n} key {'person' if n == 1 else 'people'} ({len(everyone) - n} background "
                   f"face{'s' if len(everyone) - n != 1 else ''} left out)")
    if len(frames) > 1 and mine:
        open_all = [p for p in frames if _all_open(key.key_faces(p))]
        if len(open_all) == 1 and open_all[0].id == best.id:
            out.append("the only frame where every key person's eyes are open" if len(mine) > 1
                       else "the only frame with the subject's eyes open")
    return out


def _all_open(faces: Sequence[Any]) -> bool:
    return bool(faces) and all(getattr(f, "eyes", None) == "open" for f in faces)
