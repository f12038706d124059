"""Photos of one moment as one group, from what the catalog already stores (no photo is opened): the capture
time (EXIF DateTimeOriginal with SubSecTimeOriginal; the file's date only when a photo has no EXIF time, and
each such member says so: a file's date never makes a burst, only content makes a bracket or a panorama then), the
content (the pooled last layer of the stored embedding, cosine similarity), the mean brightness (the stored view
look), EXIF ExposureBiasValue and the stored signature (a 64 px grey thumbnail, core/measures/registration.py).

Kinds: `burst` (frames at most `burst_gap_s` apart on the camera's clock, same content; frames of a camera's burst
mode, at most `rapid_gap_s` apart, need less alike content and no finer check: a real sports burst or video moment
moves too much for its signatures to agree unshifted), `bracket` (the same frame at exposure steps: EXIF bias steps
within `bracket_gap_s`, or, EXIF silent, a step in brightness that moves the pixels one way with the signatures
agreeing: a tripod bracket exported as PNG/JPEG or taken by hand seconds apart, on either clock), `panorama` (frames
taken one after another within `panorama_gap_s` on either clock, whose signatures register with a large shift mostly
along one axis and agree on the overlap), `similar` (the same scene, not one moment: up to `similar_gap_s` apart, or
without comparable times), `single`. A pan's frames are never a burst, so "keep the best, reject the rest" never
culls them (NEVER_AUTO_REJECTED); a burst shaken by the camera registers with a shift of a few per cent at most and
stays a burst.

The finer check: a (slow) burst or similar link whose embedding is borderline (within `check_margin` of its
threshold), and every EXIF bracket link, stands only if the two signatures agree unshifted, which keeps apart the
same scene at another moment and two people one second apart (real portraits with EXIF times 1 s apart: 114 of 200
falsely grouped before, none now: docs/benchmarks.md). Photos scored before schema 8 have no signature: they are
grouped without panoramas, content brackets or the finer check until a scan reads them again.

Each photo is compared with the `look_back` photos before it in time order only, so grouping is linear in the
number of photos (10,000 in about a second, docs/benchmarks.md) even when they were all taken in one minute;
a long burst still chains frame to frame. Only each photo and the one before it are registered as a pan, and the
finer check is asked only where a link would join frames not joined yet. The thresholds were chosen on real series
(tools/groups_real_series.py --split tune: real sports bursts, video moments, tripod brackets, hand-held pans and
unrelated real photos) with unrelated real portraits kept apart (tools/groups_real.py --half tune), and measured
once on the validation series; the earlier synthetic set (tools/groups_eval.py) still runs.

The best of a group is ranked within it: eyes open on every key face, key faces in focus, then the score. The key
faces are those of the key people (core/culling/people.py: size, place, focus, how often the person appears), handed to
rank_group as `faces_of`; face records are read for `eyes` ("open"/"closed"/"unknown") and `sharpness` (0-1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from selfie_desk.core.culling.people import KeyPeople, key_reasons
from selfie_desk.core.measures.embedding import EMBEDDING_DIM, STATS_DIM
from selfie_desk.core.measures.reasons import family_of
from selfie_desk.core.measures.registration import Signatures
from selfie_desk.core.vocabulary import Decision, GroupKind

KINDS = tuple(k.value for k in GroupKind)
NEVER_AUTO_REJECTED = frozenset({GroupKind.BRACKET, GroupKind.PANORAMA})
_LUM_MEAN = EMBEDDING_DIM + STATS_DIM  # look.VIEW_NAMES[0], the view's mean luma in [0, 1]
_EPOCH = datetime(1970, 1, 1)
FILE_TIME_REASON = "capture time from the file's date (no EXIF time)"
_IN_GROUP = {"burst": "in the burst", "similar": "of these similar photos", "bracket": "in the bracket",
             "panorama": "in the panorama"}


@dataclass(frozen=True)
class GroupingParams:
    """The thresholds; every one a parameter so the window can preview another choice. Chosen on real series
    (tools/groups_real_series.py --split tune) with the unrelated real portraits kept apart (tools/groups_real.py
    --half tune), then measured once on the validation series (docs/benchmarks.md)."""

    burst_gap_s: float = 2.0  # frames of one moment: at most this far apart (consecutive)
    burst_similarity: float = 0.85  # cosine of the pooled last layer, between neighbours (a soft frame: ~0.87)
    # A camera's burst mode: frames at most `rapid_gap_s` apart on the camera's clock (and within `burst_gap_s`)
    # are one moment when their content is at least `burst_similarity - rapid_margin` alike (0.80 by default), with
    # no finer check (real sports bursts and video moments at 3-25 fps: neighbours 0.84-0.98 while the subject and
    # a panning camera move, so that their signatures no longer agree unshifted; unrelated real photos taken after
    # one another: <= 0.61). No one takes two different pictures with one camera within a fraction of a second; the
    # portraits one second apart (tools/groups_real.py --exif --gap 1) stay apart.
    rapid_gap_s: float = 0.6
    rapid_margin: float = 0.05
    bracket_gap_s: float = 2.0  # a camera's bracket (EXIF bias steps) is taken at once
    bracket_similarity: float = 0.70  # exposure steps change the features: a looser content match
    bracket_ev: float = 0.6  # EXIF bias step (EV) that makes a bracket
    bracket_brightness: float = 0.5  # or, without EXIF bias, a step in log2 of the mean luma (EXIF clock, gap above)
    # A tripod bracket told by its content alone (EXIF silent: exported PNG/JPEG, or manual exposures with no bias):
    # neighbours up to `tripod_gap_s` apart on either clock, the content brighter or darker by at least
    # `bracket_step` (log2), the pixels moving that way consistently (core/measures/registration.py exposure_steps) and
    # the signatures agreeing unshifted. Real tripod brackets: consistency 0.95-1.0, agreement 0.76-0.99; unrelated
    # real portraits with such a step: consistency <= 0.76, agreement <= 0.42.
    tripod_gap_s: float = 300.0
    bracket_step: float = 0.3
    bracket_consistency: float = 0.85
    bracket_agreement: float = 0.6
    similar_gap_s: float = 30.0  # the same scene taken again within this is `similar`; minutes apart: not
    similar_similarity: float = 0.90
    look_back: int = 8
    # A panorama: frames taken one after another (on either clock: a pan's registration is evidence enough), the
    # same exposure, whose signatures register with a large shift mostly along one axis (the overlap 15-80 % of the
    # frame) and agree there (core/measures/registration.py). A hand-held pan is slow: 5-57 s between frames of a real
    # one.
    panorama_gap_s: float = 90.0
    panorama_look_back: int = 1  # a pan's frames are taken one after another: only each photo and the one before
    panorama_bridge_similarity: float = 0.75  # two pieces of one pan whose joint did not register (_bridge_pans)
    # Chosen on the synthetic tuning set (tools/groups_eval.py --tune): F1 0.994 at a shift of 0.25 and an agreement
    # of 0.7, 0.990-0.992 elsewhere in the sweep (shift 0.15-0.25, agreement 0.4-0.8, across 0.05-0.15).
    panorama_shift: float = 0.25  # along the pan, at least this of the frame (a burst's shake is ~1 %): overlap <= 75 %
    panorama_across: float = 0.1  # across it, at most this
    panorama_agreement: float = 0.7  # NCC of the overlap's gradients (a pan's neighbours: 0.75-0.99)
    panorama_ev: float = 0.3  # the same exposure: EXIF bias within this,
    # and the overlap's mean luma within this in log2: a hand-held pan's auto exposure follows the scene (a real
    # 3-frame pan of a weir in shade and sun: 0.5 between neighbours); a bracket does not register as a pan at all
    panorama_brightness: float = 0.8
    # The finer check: a burst (other than a rapid one) or similar link whose embedding is within `check_margin` of
    # its threshold stands only if the aligned signatures agree at least `check_agreement` (0: no check).
    # Chosen on the tuning set (tools/groups_eval.py --tune): pairwise F1 0.966 without the check, 0.991 with a
    # margin of 0.1 (any agreement from 0.3 to 0.7), 0.979 with 0.05.
    check_margin: float = 0.1
    check_agreement: float = 0.5
    check_brackets: bool = True  # an EXIF bracket link too (tuning F1 0.994 -> 0.995)


@dataclass(frozen=True)
class Shot:
    """What grouping knows of one photo."""

    id: int
    taken: float | None = None  # seconds (EXIF: local time as written; file: since the epoch)
    time_from_file: bool = False
    content: npt.NDArray[np.floating[Any]] | None = None  # the pooled last layer (EMBEDDING_DIM values)
    brightness: float | None = None  # mean luma in [0, 1]
    exposure_bias: float | None = None  # EV
    signature: npt.NDArray[np.uint8] | None = None  # the grey thumbnail registration reads (measures/registration.py)


@dataclass(frozen=True)
class AutoGroup:
    kind: str
    ids: tuple[int, ...]


def parse_time(captured_at: str | None) -> float | None:
    """An ISO capture time (catalog's captured_at) as seconds; None when absent or unreadable."""
    if not captured_at:
        return None
    try:
        when = datetime.fromisoformat(captured_at)
    except ValueError:
        return None
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return (when - _EPOCH).total_seconds()


def group_shots(shots: Sequence[Shot], params: GroupingParams | None = None) -> list[AutoGroup]:
    """Every shot in exactly one group, groups in time order of their first member."""
    p = params or GroupingParams()
    n = len(shots)
    if n == 0:
        return []
    order = sorted(range(n), key=lambda i: (shots[i].taken is None, shots[i].taken or 0.0, shots[i].id))
    ss = [shots[i] for i in order]
    rows = [i for i, s in enumerate(ss) if s.content is not None and s.content.size >= EMBEDDING_DIM]
    # Kept as the catalog keeps them (float16) and widened a slice at a time where they are compared (_pair_sims):
    # a float32 copy of 50,000 photos' features was 256 MB of the window's peak while it regroups (issue 31).
    dtype = np.result_type(*{ss[i].content.dtype for i in rows}) if rows else np.dtype(np.float32)  # type: ignore[union-attr]
    feats = np.zeros((n, EMBEDDING_DIM), dtype)
    for start in range(0, len(rows), SLICE):
        part = rows[start:start + SLICE]
        feats[part] = np.stack([ss[i].content[:EMBEDDING_DIM] for i in part])  # type: ignore[index]
    norms = np.concatenate([np.sqrt(np.einsum("ij,ij->i", w, w)) for w in _widened(feats)]) if n else np.zeros(0)
    has = norms > 0
    inv_norm = np.zeros(n, np.float32)
    inv_norm[has] = 1.0 / norms[has]
    t = np.array([np.nan if s.taken is None else s.taken for s in ss])
    src = np.array([s.time_from_file for s in ss])
    bias = np.array([np.nan if s.exposure_bias is None else s.exposure_bias for s in ss])
    lum = np.array([np.nan if s.brightness is None else max(s.brightness, 1e-3) for s in ss])
    log_lum = np.log2(lum)
    sigs = Signatures([s.signature for s in ss])
    has_sig = np.array([s.signature is not None for s in ss])

    links: dict[str, tuple[list[npt.NDArray[np.int64]], list[npt.NDArray[np.int64]]]] = {
        kind: ([], []) for kind in _LINK_KINDS}
    reach = min(p.look_back, n - 1)
    sims = _pair_sims(feats, inv_norm, reach)
    for k in range(1, reach + 1):
        a, b = np.arange(k, n), np.arange(0, n - k)
        sim = sims[k]
        both = has[a] & has[b]
        with np.errstate(invalid="ignore"):
            dt = np.abs(t[a] - t[b])
            timed = ~np.isnan(dt) & (src[a] == src[b])  # EXIF and file dates are not one clock
            # Only a camera's clock tells frames taken together: a file's date is when it was copied or saved (a
            # folder of downloads, a messenger's export, a card copied without its dates has them all seconds
            # apart), so file-timed photos are never a burst, and a bracket or a panorama only by their content.
            captured = timed & ~src[a]
            ev = np.abs(bias[a] - bias[b])
            lum_step = np.abs(log_lum[a] - log_lum[b])
            step = np.where(np.isnan(ev), lum_step >= p.bracket_brightness, ev >= p.bracket_ev)
            exif_bracket = both & captured & (dt <= p.bracket_gap_s) & step & (sim >= p.bracket_similarity)
            tripod = (both & has_sig[a] & has_sig[b] & timed & (dt <= p.tripod_gap_s) & (lum_step >= p.bracket_step)
                      & (sim >= p.bracket_similarity) & ~exif_bracket)
            bracket = exif_bracket.copy()
            bracket[tripod] = _tripod_brackets(sigs, a[tripod], b[tripod], p)
            # frames of a camera's burst mode: a video's pan or a tracking shot moves as far as a panorama's frames,
            # but a panorama is not taken at several frames a second
            rapid = (both & captured & (dt <= min(p.rapid_gap_s, p.burst_gap_s))
                     & (sim >= p.burst_similarity - p.rapid_margin))
            # a pan's frames see different things: their exposure is compared on the overlap, after registration
            pan_candidate = has_sig[a] & has_sig[b] & timed & (dt <= p.panorama_gap_s) & ~(ev >= p.panorama_ev) & ~rapid
            panorama = (_panoramas(sigs, a, b, pan_candidate, p) if k <= p.panorama_look_back
                        else np.zeros(n - k, bool))
            bracket &= ~panorama
            rapid &= ~bracket & ~panorama
            burst = (both & captured & (dt <= p.burst_gap_s) & (sim >= p.burst_similarity) & ~bracket & ~panorama
                     & ~rapid)
            similar = (both & (sim >= p.similar_similarity) & ~bracket & ~burst & ~rapid & ~panorama
                       & (~timed | (dt <= p.similar_gap_s)))
        if p.check_margin > 0:  # the finer check, only where the link would join what is not joined yet
            joined = _components(n, links, _LINK_KINDS)  # the links of the nearer neighbours, found before these
            burst_joined = _components(n, links, ("burst",))
            checks = [(burst, p.burst_similarity + p.check_margin, burst_joined),
                      (similar, p.similar_similarity + p.check_margin, joined)]
            if p.check_brackets:  # a bracket is one frame at other exposures: its gradients agree, whatever the cosine
                checks.append((bracket, np.inf, joined))  # (a tripod bracket agrees already)
            for mask, below, label in checks:
                border = np.flatnonzero(mask & has_sig[a] & has_sig[b] & (sim < below))
                need = border[label[a[border]] != label[b[border]]]
                mask[need] = _aligned(sigs, a[need], b[need], p)
        burst |= rapid
        for mask, kind in ((bracket, "bracket"), (panorama, "panorama"), (burst, "burst"), (similar, "similar")):
            links[kind][0].append(a[mask])
            links[kind][1].append(b[mask])
    _bridge_pans(links, sims[1] if reach else np.zeros(0, np.float32), has, t, src, n, p)
    label = _components(n, links, _LINK_KINDS)
    # A burst's first and last frames may be further apart than burst_gap_s (and so linked as "similar"):
    # the group is a burst when its burst links alone connect every frame.
    chains = np.unique(np.stack([label, _components(n, links, ("burst",))]), axis=1)[0]
    one_chain = np.bincount(chains, minlength=n) == 1
    found = {kind: np.zeros(n, bool) for kind in _LINK_KINDS}
    for kind, (xs, _ys) in links.items():
        if xs:
            found[kind][label[np.concatenate(xs)]] = True
    order_in = np.argsort(label, kind="stable")  # members of each group in time order, groups by their first
    cuts = np.flatnonzero(np.diff(label[order_in])) + 1
    out = []
    for idx in sorted(np.split(order_in, cuts), key=lambda m: int(m[0])):
        root = int(label[idx[0]])
        # A pan's frames are never a burst (whose frames "keep the best" rejects), even where two of them were
        # also linked as a burst, nor a bracket where two frames not side by side differ in brightness (the tuning
        # set's pans, 1 s apart, had their first and last frames linked so); neither kind is ever auto-rejected.
        kind = ("single" if len(idx) == 1 else "panorama" if found["panorama"][root]
                else "bracket" if found["bracket"][root] else "burst" if one_chain[root] else "similar")
        out.append(AutoGroup(kind, tuple(ss[int(i)].id for i in idx)))
    return out


_LINK_KINDS = ("bracket", "panorama", "burst", "similar")

SLICE = 4096  # photos' features widened to float32 at a time (4096 x 1280 x 4 bytes: 21 MB)


def _widened(feats: npt.NDArray[Any], start: int = 0, stop: int | None = None) -> list[npt.NDArray[np.float32]]:
    stop = len(feats) if stop is None else stop
    return [feats[i:min(i + SLICE, stop)].astype(np.float32, copy=False) for i in range(start, stop, SLICE)]


def _pair_sims(feats: npt.NDArray[Any], inv_norm: npt.NDArray[np.float32], reach: int
               ) -> list[npt.NDArray[np.float32]]:
    """For k = 1..reach, the cosine of each photo's features with those of the photo k before it (0 where either
    has none), in float32: item k of the list, n - k values (item 0 is empty). Each slice of the features is
    widened once for every k: no float32 copy of them all, and no widening per k (which cost 0.3 s at 10,000)."""
    n = len(feats)
    out = [np.zeros(max(n - k, 0), np.float32) if k else np.zeros(0, np.float32) for k in range(reach + 1)]
    for i in range(0, max(n - 1, 0), SLICE):
        j = min(i + SLICE, n)
        block = feats[i:min(j + reach, n)].astype(np.float32, copy=False)  # this slice and the next `reach` photos
        for k in range(1, reach + 1):
            m = min(j, n - k) - i  # pairs (i + r + k, i + r) for r < m
            if m > 0:
                out[k][i:i + m] = np.einsum("ij,ij->i", block[k:k + m], block[:m])
    for k in range(1, reach + 1):
        out[k] *= inv_norm[k:] * inv_norm[:n - k]
    return out


def _bridge_pans(links: dict[str, tuple[list[npt.NDArray[np.int64]], list[npt.NDArray[np.int64]]]],
                 sim: npt.NDArray[np.float32], has: npt.NDArray[np.bool_], t: npt.NDArray[np.float64],
                 src: npt.NDArray[np.bool_], n: int, p: GroupingParams) -> None:
    """Two pieces of one pan, one after the other: a neighbour pair whose registration failed (a real 12-frame
    hand-held pan of 456 px-wide frames: two of its eleven pairs overlap by under 30 %, some 10 pixels of the
    signature, too few to register) joins when both frames are in pans, taken within `panorama_gap_s` on one
    clock, and their content is at least `panorama_bridge_similarity` alike (`sim`: each photo's cosine with the one
    before it, as group_shots compared them)."""
    if n < 2 or not links["panorama"][0]:
        return
    pans = _components(n, links, ("panorama",))
    in_pan = np.bincount(pans, minlength=n)[pans] > 1
    a, b = np.arange(1, n), np.arange(0, n - 1)
    with np.errstate(invalid="ignore"):
        dt = np.abs(t[a] - t[b])
        near = ~np.isnan(dt) & (src[a] == src[b]) & (dt <= p.panorama_gap_s)
    bridge = (in_pan[a] & in_pan[b] & (pans[a] != pans[b]) & near & has[a] & has[b]
              & (sim >= p.panorama_bridge_similarity))
    links["panorama"][0].append(a[bridge])
    links["panorama"][1].append(b[bridge])


def _components(n: int, links: dict[str, tuple[list[npt.NDArray[np.int64]], list[npt.NDArray[np.int64]]]],
                kinds: Sequence[str]) -> npt.NDArray[np.int64]:
    """Each photo's connected component over the links of `kinds` (a label per photo): a union-find for all the
    links at once, in C (scipy), where a Python one cost ~0.3 s at 10,000 photos."""
    xs = [x for kind in kinds for x in links[kind][0]]
    ys = [y for kind in kinds for y in links[kind][1]]
    x = np.concatenate(xs) if xs else np.zeros(0, np.int64)
    y = np.concatenate(ys) if ys else np.zeros(0, np.int64)
    if x.size == 0:
        return np.arange(n)
    graph = coo_matrix((np.ones(x.size, np.int8), (x, y)), shape=(n, n))
    labels: npt.NDArray[np.int64] = connected_components(graph, directed=False)[1].astype(np.int64)
    return labels


# Pairs registered at a time. Registration makes ~50 KB of arrays per photo (smoothed, gradients, profiles), dropped
# after each slice: at 50,000 photos in bursts, held for every pair at once they took the window's grouping thread
# and `selfie-desk groups` past 2.5 GB (issue 31). A slice's photos are neighbours in time; little is made twice.
PAIRS_AT_ONCE = 2048


def _panoramas(sigs: Signatures, a: npt.NDArray[np.int64], b: npt.NDArray[np.int64], candidate: npt.NDArray[np.bool_],
               p: GroupingParams) -> npt.NDArray[np.bool_]:
    """Which candidate pairs (a[j], b[j]) register as neighbouring frames of a pan."""
    out = np.zeros(len(a), bool)
    picked = np.flatnonzero(candidate)
    for start in range(0, picked.size, PAIRS_AT_ONCE):  # what registration makes is dropped after each slice
        part = picked[start:start + PAIRS_AT_ONCE]
        shifts = sigs.register(a[part].tolist(), b[part].tolist(), p.panorama_shift, 1.0)
        sigs.forget()
        for j, shift in zip(part, shifts, strict=True):
            out[j] = (shift.along >= p.panorama_shift and shift.across <= p.panorama_across
                      and shift.agreement >= p.panorama_agreement and abs(shift.exposure) < p.panorama_brightness)
    return out


def _tripod_brackets(sigs: Signatures, a: npt.NDArray[np.int64], b: npt.NDArray[np.int64], p: GroupingParams
                     ) -> npt.NDArray[np.bool_]:
    """Whether each pair is one frame at two exposures by its content alone: a step in brightness that moves the
    pixels one way, and the signatures agreeing unshifted (a tripod)."""
    if a.size == 0:
        return np.zeros(0, bool)
    step, consistency = sigs.exposure_steps(a.tolist(), b.tolist())
    agree = sigs.still_agreement(a.tolist(), b.tolist())
    out: npt.NDArray[np.bool_] = ((np.abs(step) >= p.bracket_step) & (consistency >= p.bracket_consistency)
                                  & (agree >= p.bracket_agreement))
    return out


def _aligned(sigs: Signatures, a: npt.NDArray[np.int64], b: npt.NDArray[np.int64], p: GroupingParams
             ) -> npt.NDArray[np.bool_]:
    """Whether each pair's signatures agree (a little shake allowed): the finer check's verdict."""
    agreement: npt.NDArray[np.bool_] = np.zeros(a.size, bool)
    for start in range(0, a.size, PAIRS_AT_ONCE):  # as _panoramas: a slice at a time, its arrays dropped after
        part = slice(start, start + PAIRS_AT_ONCE)
        agreement[part] = sigs.still_agreement(a[part].tolist(), b[part].tolist()) >= p.check_agreement
        sigs.forget()
    return agreement


# ---- the best of each group ----------------------------------------------------------------------------------------
class Member(Protocol):
    """What ranking reads of a photo (catalog.Photo has it)."""

    @property
    def id(self) -> int: ...
    @property
    def path(self) -> str: ...
    @property
    def score(self) -> float | None: ...
    @property
    def faces(self) -> Sequence[Any]: ...


@dataclass(frozen=True)
class RankedMember:
    photo: Any  # a Member
    best: bool
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RankedGroup:
    id: int
    kind: str
    members: list[RankedMember]  # best first

    @property
    def best(self) -> RankedMember:
        return self.members[0]

    def to_reject(self) -> list[Any]:
        """What "keep the best, reject the rest" rejects: nothing in a bracket or a panorama."""
        if self.kind in NEVER_AUTO_REJECTED:
            return []
        return [m.photo for m in self.members[1:]]


# A face "clearly" softer than its group's sharpest: sharpness is comparable across the frames of one group only,
# and a frame a little softer than the best is neither worse nor a cause for a badge (the measure moves by ~0.05
# between two equally sharp frames of one burst, tests/test_eyes_in_pass.py). So focus ranks as "in focus" (within
# this of the group's sharpest) or "soft", and among frames in focus the score decides.
SOFT_MARGIN = 0.15


@dataclass(frozen=True)
class _Key:
    closed: int  # faces with closed eyes
    all_open: bool  # every face known open (False without faces or eye states)
    eyes_known: bool
    sharpness: float | None  # the softest face's sharpness
    score: float | None
    soft: bool = False  # the softest face is clearly softer than the group's sharpest (set by rank_group)
    blurred: str | None = None  # the score's own soft-focus reason ("motion blur", "camera shake"...), if any

    @property
    def out_of_focus(self) -> bool:
        return self.soft or self.blurred is not None

    def sort_key(self) -> tuple[float, float, float, float, float]:
        return (self.closed, 0.0 if self.all_open else 1.0, 1.0 if self.out_of_focus else 0.0,
                -(self.score if self.score is not None else -np.inf),
                -(self.sharpness if self.sharpness is not None else -1.0))


def _key(photo: Any, faces_of: Callable[[Any], Sequence[Any]] | None = None) -> _Key:
    faces = list(getattr(photo, "faces", []) or []) if faces_of is None else list(faces_of(photo))
    eyes = [getattr(f, "eyes", None) for f in faces]
    known = [e for e in eyes if e in ("open", "closed")]  # "unknown" (or None) tells nothing
    sharp = [float(s) for s in (getattr(f, "sharpness", None) for f in faces) if s is not None]
    return _Key(
        closed=sum(1 for e in known if e == "closed"),
        all_open=bool(faces) and len(known) == len(faces) and all(e == "open" for e in known),
        eyes_known=bool(known),
        sharpness=min(sharp) if sharp else None,
        score=None if photo.score is None else float(photo.score),
        blurred=next((r for r in getattr(photo, "reasons", []) or [] if family_of(r) == SOFT_FOCUS), None),
    )


def rank_group(group_id: int, kind: str, photos: Sequence[Any], file_time_ids: frozenset[int] = frozenset(),
               faces_of: Callable[[Any], Sequence[Any]] | None = None) -> RankedGroup:
    """Members best first (eyes open on every face, in focus: no face clearly softer than the group's sharpest and
    no soft-focus reason of the score's, then the score), the best's reasons saying why it won and the others' why
    they lost. `faces_of` (core/culling/people.py: the key people's faces) says which of a photo's faces count; all of
    them when None."""
    keys = {p.id: _key(p, faces_of) for p in photos}
    sharpest = max((k.sharpness for k in keys.values() if k.sharpness is not None), default=None)
    if sharpest is not None:
        keys = {pid: replace(k, soft=k.sharpness is not None and k.sharpness < sharpest - SOFT_MARGIN)
                for pid, k in keys.items()}
    ordered = sorted(photos, key=lambda p: (*keys[p.id].sort_key(), p.path))
    members = []
    best = keys[ordered[0].id] if ordered else None
    others = [keys[p.id] for p in ordered[1:]]
    for rank, photo in enumerate(ordered):
        k = keys[photo.id]
        assert best is not None
        error = getattr(photo, "error", None)
        if error:  # unreadable: a group of its own, and the one thing worth saying is why
            reasons = [f"could not be read: {error}"]
        else:
            reasons = _best_reasons(kind, k, others) if rank == 0 else _loser_reasons(k, best)
            if kind in NEVER_AUTO_REJECTED:
                reasons.append(f"a frame of a {kind}: never auto-rejected")
            if photo.id in file_time_ids:
                reasons.append(FILE_TIME_REASON)
        members.append(RankedMember(photo, rank == 0, reasons))
    return RankedGroup(group_id, kind, members)


def _best_reasons(kind: str, best: _Key, others: list[_Key]) -> list[str]:
    if not others:
        return ["no other photo of this moment"] if kind == "single" else ["the only photo of the group here"]
    reasons = []
    if best.all_open and any(not o.all_open for o in others):
        reasons.append("all eyes open")
    elif best.eyes_known and any(o.closed > best.closed for o in others):
        reasons.append("fewest closed eyes")
    tied = [o for o in others if (o.closed, o.all_open) == (best.closed, best.all_open)]
    if not best.soft and best.sharpness is not None and any(o.soft for o in tied):
        reasons.append("sharpest face" if all(o.sharpness is None or o.sharpness <= best.sharpness for o in tied)
                       else "face in focus")
    elif not best.out_of_focus and any(o.blurred for o in tied):
        reasons.append("in focus")
    if not reasons or (best.score is not None and all(o.score is None or o.score <= best.score for o in others)):
        if best.score is not None:
            reasons.append(f"highest score {_IN_GROUP.get(kind, 'in the group')}")
    return reasons or ["first of the group"]


def _loser_reasons(k: _Key, best: _Key) -> list[str]:
    reasons = []
    if k.closed > best.closed:
        reasons.append("closed eyes")
    elif best.all_open and not k.all_open and k.eyes_known:
        reasons.append("eyes not known open")
    if k.soft and not best.soft:
        reasons.append("softer face than the best")
    elif k.blurred and not best.blurred:
        reasons.append(k.blurred)
    if k.score is None:
        reasons.append("not scored")
    elif best.score is not None and k.score < best.score:
        reasons.append("lower score than the best")
    return reasons


# ---- with the catalog ----------------------------------------------------------------------------------------------
def shots_from_catalog(catalog: Any, photo_ids: Sequence[int]) -> list[Shot]:
    """The shots of `photo_ids` from stored data only: embeddings, capture times, mtimes, exposure bias."""
    embeddings = catalog.embeddings(photo_ids, stored=True)  # float16 as kept: group_shots converts them at once
    info = catalog.capture_info(photo_ids)
    signatures = catalog.signatures(photo_ids)
    shots = []
    for pid in photo_ids:
        captured_at, mtime_ns, bias = info.get(pid, (None, 0, None))
        exif_time = parse_time(captured_at)
        vec = embeddings.get(pid, (None, None))[0]
        brightness = float(vec[_LUM_MEAN]) if vec is not None and vec.size > _LUM_MEAN else None
        shots.append(Shot(
            id=pid,
            taken=exif_time if exif_time is not None else (mtime_ns / 1e9 if mtime_ns else None),
            time_from_file=exif_time is None,
            content=None if vec is None else vec[:EMBEDDING_DIM],
            brightness=brightness,
            exposure_bias=bias,
            signature=signatures.get(pid),
        ))
    return shots


# The thresholds a person sets (Groups > Grouping Thresholds, kept in the settings for the window and the command
# line alike): what `selfie-desk groups --json` shows and the catalog keeps with its grouping stamp.
SETTABLE = ("burst_similarity", "burst_gap_s")


def thresholds_of(params: GroupingParams | None) -> dict[str, float]:
    p = params or GroupingParams()
    return {key: float(getattr(p, key)) for key in SETTABLE}


def regroup(catalog: Any, photo_ids: Sequence[int], params: GroupingParams | None = None) -> list[AutoGroup]:
    """Group `photo_ids` afresh and store it, with the thresholds used; groups the user edited are left as they
    are."""
    groups = group_shots(shots_from_catalog(catalog, photo_ids), params)
    catalog.replace_auto_groups(photo_ids, [(g.kind, g.ids) for g in groups], thresholds=thresholds_of(params))
    return groups


def ranked_groups(catalog: Any, photos: Sequence[Any], key: KeyPeople | None = None) -> list[RankedGroup]:
    """The stored groups of `photos` (catalog.Photo), each ranked, restricted to those photos: every photo
    in exactly one group (one not grouped yet is a single of its own). Groups in time order of their best.
    `key`: the photos' key people (core/culling/people.py), found here when not given."""
    by_id = {p.id: p for p in photos}
    info = catalog.capture_info(list(by_id))
    file_time = frozenset(pid for pid, (when, _m, _b) in info.items() if parse_time(when) is None)
    key = key or KeyPeople(photos)  # the key people: whose eyes and focus rank a group's frames
    seen: set[int] = set()
    out = []
    for g in catalog.groups(list(by_id)):
        here = [by_id[pid] for pid in g.photo_ids if pid in by_id and pid not in seen]
        if not here:
            continue
        seen.update(p.id for p in here)
        kind = "single" if len(here) == 1 and g.kind != "panorama" else g.kind
        out.append(_with_key_people(rank_group(g.id, kind, here, file_time, key.key_faces), key))
    for p in photos:
        if p.id not in seen:  # not grouped yet: negative, never stored
            out.append(_with_key_people(rank_group(-p.id, "single", [p], file_time, key.key_faces), key))
    times = {pid: parse_time(when) for pid, (when, _m, _b) in info.items()}

    def first_time(g: RankedGroup) -> tuple[bool, float, str]:
        ts = [times.get(m.photo.id) for m in g.members]
        known = [x for x in ts if x is not None]
        return (not known, min(known) if known else 0.0, g.members[0].photo.path)

    return sorted(out, key=first_time)


def _with_key_people(group: RankedGroup, key: KeyPeople) -> RankedGroup:
    """The best frame's reasons with what the key people add (core/culling/people.py key_reasons)."""
    if not group.members or getattr(group.best.photo, "error", None):
        return group
    extra = key_reasons([m.photo for m in group.members], group.best.photo, key)
    if not extra:
        return group
    first = replace(group.members[0], reasons=[*group.members[0].reasons, *extra])
    return replace(group, members=[first, *group.members[1:]])


# ---- what the window and export read of the groups ----------------------------------------------------------------
CLOSED_EYES = "closed eyes"
SOFT_FOCUS = "soft focus"
BADGES = (CLOSED_EYES, SOFT_FOCUS)


def softest_face(photo: Any) -> float | None:
    """The sharpness of the photo's softest measured face (None: no face measured)."""
    sharp = [float(s) for s in (getattr(f, "sharpness", None) for f in getattr(photo, "faces", []) or [])
             if s is not None]
    return min(sharp) if sharp else None


def has_closed_eyes(photo: Any) -> bool:
    return any(getattr(f, "eyes", None) == "closed" for f in getattr(photo, "faces", []) or [])


def _soft_reason(photo: Any) -> bool:
    return any(family_of(r) == SOFT_FOCUS for r in getattr(photo, "reasons", []) or [])


@dataclass(frozen=True)
class CullPlan:
    """What "keep the best, reject the rest" does to one group: the frame kept, those rejected (none in a
    bracket or a panorama: those are left undecided) and the words the window shows."""

    keep: Any
    reject: list[Any]
    left: list[Any]  # neither kept nor rejected (a bracket's or a panorama's other frames)
    kind: str

    def message(self, name: Any = lambda p: str(p.path).rsplit("/", 1)[-1]) -> str:
        what = f"the {self.kind}" if self.kind in _IN_GROUP else "the group"
        if self.left:
            n = len(self.left)
            return (f"Kept {name(self.keep)}; the {n} other frame{'s' if n != 1 else ''} of {what} left undecided "
                    f"(a {self.kind} is never auto-rejected)")
        n = len(self.reject)
        return f"Kept {name(self.keep)}, rejected {n} other frame{'s' if n != 1 else ''} of {what}"


class GroupIndex:
    """The ranked groups of a folder by photo: what the grid stacks, the side panel lists and the badges read."""

    def __init__(self, groups: Sequence[RankedGroup] = (), people: KeyPeople | None = None) -> None:
        self.groups: dict[int, RankedGroup] = {g.id: g for g in groups}
        self.people = people  # the folder's key people (core/culling/people.py), when known: the People panel reads it
        self._of: dict[int, int] = {}
        self._member: dict[int, RankedMember] = {}
        self._badges: dict[int, frozenset[str]] = {}
        for g in groups:
            for m in g.members:
                self._of[m.photo.id] = g.id
                self._member[m.photo.id] = m

    def __len__(self) -> int:
        return len(self.groups)

    def group_of(self, photo_id: int) -> RankedGroup | None:
        gid = self._of.get(photo_id)
        return None if gid is None else self.groups[gid]

    def member(self, photo_id: int) -> RankedMember | None:
        return self._member.get(photo_id)

    def member_ids(self, group_id: int) -> list[int]:
        """The group's photos, best first."""
        g = self.groups.get(group_id)
        return [] if g is None else [m.photo.id for m in g.members]

    def stacks(self) -> list[RankedGroup]:
        """The groups of more than one photo."""
        return [g for g in self.groups.values() if len(g.members) > 1]

    def badges(self, photo: Any) -> frozenset[str]:
        """"closed eyes" (a face with its eyes closed) and "soft focus" (the score says so, or a face clearly
        softer than its group's best). Kept per photo id: faces and reasons change only with a new scoring, and
        a new scoring is a new index."""
        known = self._badges.get(photo.id)
        if known is not None:
            return known
        found = self._work_out_badges(photo)
        self._badges[photo.id] = found
        return found

    def forget(self, photo_id: int) -> None:
        """The photo was scored again (new faces, new reasons): its badges are worked out afresh when asked."""
        self._badges.pop(photo_id, None)

    def _work_out_badges(self, photo: Any) -> frozenset[str]:
        out = set()
        if has_closed_eyes(photo) or any(r == CLOSED_EYES for r in getattr(photo, "reasons", []) or []):
            out.add(CLOSED_EYES)
        soft = _soft_reason(photo)
        if not soft:
            group = self.group_of(photo.id)
            mine = softest_face(photo)
            if group is not None and mine is not None:  # against the group's sharpest frame (its best may not be)
                sharpest = max((v for v in (softest_face(m.photo) for m in group.members) if v is not None),
                               default=None)
                soft = sharpest is not None and mine < sharpest - SOFT_MARGIN
        if soft:
            out.add(SOFT_FOCUS)
        return frozenset(out)

    def cull_plan(self, photo_id: int, chosen: int | None = None) -> CullPlan | None:
        """"Keep the best, reject the rest" for the group of `photo_id`: `chosen` (a member) is kept instead of
        the best when given. None when the photo is in no group of two or more."""
        group = self.group_of(photo_id)
        if group is None or len(group.members) < 2:
            return None
        photos = [m.photo for m in group.members]
        keep = next((p for p in photos if p.id == chosen), photos[0])
        rest = [p for p in photos if p.id != keep.id]
        if group.kind in NEVER_AUTO_REJECTED:
            return CullPlan(keep, [], rest, group.kind)
        return CullPlan(keep, rest, [], group.kind)


def best_of_groups(photos: Sequence[Any]) -> list[Any]:
    """Each group's best among `photos` (by their group_id; a photo in no group stands for itself), ranked as
    rank_group ranks, skipping rejected photos: the next best of a group is taken when its best was rejected."""
    by_group: dict[int, list[Any]] = {}
    alone = []
    for p in photos:
        gid = getattr(p, "group_id", None)
        if gid is None:
            alone.append(p)
        else:
            by_group.setdefault(gid, []).append(p)
    out = [p for p in alone if getattr(p, "decision", None) != Decision.REJECT]
    key = KeyPeople(photos)
    for gid, members in by_group.items():
        ranked = rank_group(gid, "burst", members, faces_of=key.key_faces)
        best = next((m.photo for m in ranked.members if getattr(m.photo, "decision", None) != Decision.REJECT), None)
        if best is not None:
            out.append(best)
    return out


def count_groups(groups: Sequence[AutoGroup]) -> tuple[int, int, int]:
    """(groups of two or more photos, photos in them, bursts among them): the window's preview of a threshold."""
    stacks = [g for g in groups if len(g.ids) > 1]
    return len(stacks), sum(len(g.ids) for g in stacks), sum(g.kind == "burst" for g in stacks)
