"""What the window's group keys and export's --best-of-groups decide (core/culling/groups.py), without a window."""

from dataclasses import dataclass

from selfie_desk.core.culling.groups import CLOSED_EYES, SOFT_FOCUS, GroupIndex, best_of_groups, rank_group
from selfie_desk.core.formats.export import ExportOptions, select


@dataclass(frozen=True)
class Face:
    eyes: str = "unknown"
    sharpness: float | None = None
    box: tuple = (0, 0, 10, 10)


@dataclass(frozen=True)
class P:
    id: int
    path: str
    score: float | None
    faces: tuple = ()
    group_id: int | None = None
    decision: str | None = None
    error: str | None = None
    reasons: tuple = ()


def burst(kind: str = "burst") -> GroupIndex:
    photos = [P(1, "/a.jpg", 0.9, (Face("closed", 0.9),), 7), P(2, "/b.jpg", 0.7, (Face("open", 0.8),), 7),
              P(3, "/c.jpg", 0.8, (Face("open", 0.4),), 7)]
    return GroupIndex([rank_group(7, kind, photos)])


def test_keep_best_rejects_the_rest_of_a_burst_and_never_a_brackets_frames():
    plan = burst().cull_plan(3)
    assert plan.keep.id == 2 and [p.id for p in plan.reject] == [3, 1] and plan.left == []
    assert plan.message() == "Kept b.jpg, rejected 2 other frames of the burst"
    chosen = burst().cull_plan(1, chosen=3)
    assert chosen.keep.id == 3 and {p.id for p in chosen.reject} == {1, 2}
    bracket = burst("bracket").cull_plan(1)
    assert bracket.reject == [] and {p.id for p in bracket.left} == {1, 3}
    assert "left undecided" in bracket.message() and "never auto-rejected" in bracket.message()
    assert GroupIndex().cull_plan(1) is None


def test_badges_closed_eyes_and_a_face_clearly_softer_than_the_groups_best():
    index = burst()
    by_id = {m.photo.id: m.photo for g in index.groups.values() for m in g.members}
    assert index.badges(by_id[1]) == {CLOSED_EYES}  # 0.9 sharp: not soft, whatever the best
    assert index.badges(by_id[2]) == frozenset()  # the best
    assert index.badges(by_id[3]) == {SOFT_FOCUS}  # 0.4 against the best's 0.8
    alone = P(9, "/z.jpg", 0.5, (Face("open", 0.1),), reasons=("soft focus on the face",))
    assert GroupIndex().badges(alone) == {SOFT_FOCUS}  # the score's own reason, with no group to compare


def test_best_of_groups_takes_each_groups_best_the_next_when_rejected_and_the_photos_alone():
    photos = [P(1, "/a.jpg", 0.9, (Face("closed", 0.9),), 7), P(2, "/b.jpg", 0.7, (Face("open", 0.8),), 7),
              P(3, "/c.jpg", 0.8, (Face("open", 0.4),), 7), P(4, "/d.jpg", 0.2, group_id=None),
              P(5, "/e.jpg", 0.6, group_id=8, decision="reject"), P(6, "/f.jpg", 0.5, group_id=8),
              P(7, "/g.jpg", 0.4, group_id=None, decision="reject")]
    assert sorted(p.id for p in best_of_groups(photos)) == [2, 4, 6]
    chosen = select(photos, ExportOptions(selection="best_of_groups"))
    assert [p.id for p in chosen] == [2, 6, 4]  # best score first, as every rule
