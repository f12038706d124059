"""The scoring pass: index, then decode in parallel threads feeding batched inference, streaming results
into the catalog a batch at a time.

Pillow and torch release the GIL while they decode and compute, so a thread pool overlaps decoding the
next photos with scoring the current batch. At most a few batches are in flight whatever the folder
size, so memory stays flat. Cancelling stops feeding work; every finished batch is already committed.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from selfie_desk.core.formats import decoding
from selfie_desk.core.formats.indexing import IndexReport, Todo, index
from selfie_desk.core.measures import look, reasons, registration
from selfie_desk.core.measures.embedding import EMBEDDING_ID, FEATURE_DIM, face_input, model_input
from selfie_desk.core.measures.face import Face
from selfie_desk.core.measures.face_check import FaceCheck
from selfie_desk.core.measures.reasons import ASPECTS
from selfie_desk.core.storage import thumbnails
from selfie_desk.core.storage.catalog import Catalog, LookRecord, Result
from selfie_desk.neural import identity, rescore
from selfie_desk.neural.runtime.heads import HeadOnly
from selfie_desk.neural.scored import Scored, stack_faces

Scorer = Any  # model.Scorer (torch) or runtime.scorer.RuntimeScorer (ONNX Runtime), from runtime.make_scorer

# JPEG DCT scaling lands a 12 MP photo at 1/2 (2000 x 1500) for the detail look (look.DETAIL_EDGE); the
# view (500 x 375, an integer box-filter reduction of it) makes the 224 px model input, the faces and the
# 320 px thumbnail. 41.9 vs 31.6 ms per 12 MP photo for the 1/8 decode used before (docs/benchmarks.md).
DECODE_EDGE = look.DETAIL_EDGE
# where the features say whether the detail look was taken on a face
ON_FACE = FEATURE_DIM - look.N_DETAIL + look.DETAIL_NAMES.index("detail_on_face")
FACE_EDGE = 384  # faces down to ~4 % of the long edge; 480 costs 2x (20.6 vs 11.1 ms per photo on one core)


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    failed: int
    elapsed: float
    path: str | None = None

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        return (self.total - self.done) / self.rate if self.rate > 0 else None


@dataclass(frozen=True)
class Summary:
    index: IndexReport
    scored: int
    failed: int
    cancelled: bool
    elapsed: float


class Tally:
    """A pass's counts as it goes, its progress reports and its summary: the local pass and the cluster's driver
    (selfie_desk/cluster/run.py) each keep one, so both report and sum up the same way."""

    def __init__(self, report: IndexReport, reused: int, todo: Sequence[Todo],
                 progress: Callable[[Progress], None] | None, start: float) -> None:
        self.report, self.reused, self.progress, self.start = report, reused, progress, start
        self.todo = len(todo)
        self.paths = {t.photo_id: t.path for t in todo}  # what a result's note is told of
        self.done = self.failed = 0  # of `todo`: recorded, and of those (or still to be recorded) failed

    @classmethod
    def begin(cls, targets: Iterable[Path], catalog: Catalog, scorer: Scorer | HeadOnly, cancel: threading.Event,
              progress: Callable[[Progress], None] | None) -> tuple[list[Todo], Tally]:
        """Start a pass: `plan` it, and report its first progress; (the photos to decode, the pass's tally)."""
        start = time.perf_counter()
        report, reused, todo = plan(targets, catalog, scorer, cancel)
        tally = cls(report, len(reused), todo, progress, start)
        tally.tell()
        return todo, tally

    def tell(self, path: str | None = None) -> None:
        if self.progress is not None:
            self.progress(Progress(self.reused + self.done, self.reused + self.todo, self.failed,
                                   time.perf_counter() - self.start, path))

    def recorded(self, results: Sequence[Result]) -> None:
        """`results` are in the catalog: count them, and keep what they tell the user in the summary's notes,
        beside indexing's."""
        self.done += len(results)
        self.report.notes += [(self.paths.get(r.photo_id, ""), r.note) for r in results if r.note]

    def summary(self, cancelled: bool) -> Summary:
        return Summary(self.report, self.reused + self.done - self.failed, self.failed, cancelled,
                       time.perf_counter() - self.start)


@dataclass(frozen=True)
class Prepared:
    """A decoded photo, reduced to what the models need."""

    todo: Todo
    width: int
    height: int
    captured_at: str | None
    model_input: np.ndarray  # 224 x 224 x 3 uint8
    face_input: np.ndarray  # h x w x 3 uint8, long edge <= FACE_EDGE
    look: look.Look  # view statistics and the detail luma (the view itself is let go)
    exposure_bias: float | None = None  # EXIF ExposureBiasValue (EV): brackets are grouped by it
    thumbnail: Image.Image | None = None  # the view reduced for the cache, when not saved here (cluster workers)
    signature: np.ndarray | None = None  # the view's luma at 64 px (core/measures/registration.py): grouping
    # registers by it
    note: str | None = None  # for the user: read from another file (decoding.Decoded.note)


def prepare(todo: Todo, thumbnail_root: Path | None = None, *, save_thumbnail: bool = True) -> Prepared:
    """Decode one photo (reduced), cache its thumbnail, and make the model, face-detector and look inputs.
    With `save_thumbnail` False the thumbnail is handed back in `Prepared.thumbnail` instead (a cluster
    worker: the driver, not the node, writes the user's cache)."""
    decoded = decoding.decode(Path(todo.path), DECODE_EDGE, pair=todo.pair)
    lk = look.Look(decoded.image)
    view = lk.held_view()
    thumb = None
    if todo.fingerprint and save_thumbnail:
        try:
            thumbnails.save(todo.fingerprint, view, thumbnail_root)
        except OSError:
            pass  # a full or read-only cache must not stop scoring; the GUI regenerates on demand
    elif todo.fingerprint:
        thumb = thumbnails.reduced(view)
    model_in = model_input(view)
    face = face_input(view, FACE_EDGE)
    sig = registration.signature(view)
    lk.view = None  # only its statistics are needed from here on: keeps the decodes in flight small
    return Prepared(todo, decoded.width, decoded.height, decoded.captured_at, model_in, face, lk,
                    decoded.exposure_bias, thumb, sig, decoded.note)


def batch_arrays(items: list[Prepared]) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """The batch's model inputs (uint8 N x 224 x 224 x 3) and face inputs (N x h x w x 3, zero-padded), as
    numpy: each scorer takes them as they are (torch views them as N x 3 x H x W)."""
    faces, sizes = stack_faces([p.face_input for p in items])
    return np.stack([p.model_input for p in items]), faces, sizes


def _torch_threads(scorer: Scorer, threads: int | None = None) -> int:
    """torch's thread count on this thread (set to `threads` when given) when `scorer` runs torch on the CPU;
    0 otherwise (a GPU, or the ONNX runtime, whose sessions keep their own threads: runtime.scorer)."""
    if getattr(scorer, "runtime", "torch") != "torch" or scorer.device.type != "cpu":
        return 0
    import torch  # loaded already with the scorer

    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    return before


def batch_results(items: list[Prepared], scorer: Scorer) -> list[Result]:
    """The catalog's results for one batch, computed here and now (tools and tests; the pass uses `_start`)."""
    return _start(items, scorer, None)()


def _start(items: list[Prepared], scorer: Scorer, eyes: ThreadPoolExecutor | None) -> Callable[[], list[Result]]:
    """Score one batch on this thread and start its faces' eyes and focus on ``eyes`` (or here when None);
    the returned call waits for them and makes the catalog's results.

    With ``eyes`` (``score(eyes_beside=True)``) the pass records a batch after the next one's backbone has
    run, so the eye network of one batch runs on its own thread while this thread scores the next."""
    model_in, face_in, sizes = batch_arrays(items)
    scored = scorer.score_batch(model_in, face_in, sizes, [p.look for p in items], checks=False)
    looks, faces = [p.look for p in items], [s.faces for s in scored]
    if eyes is None:
        checks = scorer.check_faces(looks, faces, sizes)
        return lambda: _made(items, scorer.finish(scored, checks))
    # half this thread's share of the cores (one on two cores): the two threads' OpenMP pools overlap in time
    threads = max(1, _torch_threads(scorer) // 2)

    def check() -> list[list[FaceCheck]]:
        _torch_threads(scorer, threads)
        return scorer.check_faces(looks, faces, sizes)

    future = eyes.submit(check)
    return lambda: _made(items, scorer.finish(scored, future.result()))


def _made(items: list[Prepared], scored: list[Scored]) -> list[Result]:
    """The catalog's results of a batch whose faces' checks are in (``Scorer.finish``: they count in the score)."""
    out = []
    for p, s, (fw, fh) in zip(items, scored, [(q.face_input.shape[1], q.face_input.shape[0]) for q in items],
                              strict=True):
        sx, sy = p.width / fw, p.height / fh
        faces = [f.scaled(sx, sy) for f in s.faces]
        out.append(
            Result(
                photo_id=p.todo.photo_id,
                width=p.width,
                height=p.height,
                captured_at=p.captured_at,
                score=s.score,
                embedding=s.embedding,
                faces=[(f.box, f.confidence, f.landmarks) for f in faces],
                face_checks=[(c.eyes.value, c.sharpness) for c in s.checks],
                face_identities=identities(p.look, faces, p.width, p.height),
                embedding_id=EMBEDDING_ID,
                look=describe(s, faces, p.width, p.height, p.look),
                exposure_bias=p.exposure_bias,
                signature=p.signature,
                note=p.note,
            )
        )
    return out


def identities(lk: look.Look, faces: Sequence[Face], width: int, height: int) -> list[np.ndarray | None]:
    """Who each face is (neural/identity.py), from the detail decode the look holds; None for a face too small to
    tell (or beyond the largest identity.MAX_FACES)."""
    if not faces:
        return []
    h, w = lk.detail_gray.shape
    in_detail = [f.scaled(w / width, h / height) for f in faces]
    wanted = identity.pick(in_detail)
    out: list[np.ndarray | None] = [None] * len(faces)
    if not wanted:
        return out
    who = identity.shared()
    for i in sorted(wanted):
        x0, y0, x1, y1 = in_detail[i].box
        fw, fh = x1 - x0, y1 - y0
        k = max(1, int(fw / identity.CHIP_FACE_PX))
        image, (ox, oy) = lk.detail_rgb((x0 - 0.5 * fw, y0 - 0.5 * fh, x1 + 0.5 * fw, y1 + 0.5 * fh), k)
        out[i] = who.describe(np.asarray(image.convert("RGB")),
                              ((x0 - ox) / k, (y0 - oy) / k, (x1 - ox) / k, (y1 - oy) / k))
    return out


def describe(scored: Scored, faces: list, width: int, height: int, lk: look.Look) -> LookRecord:
    """What the catalog keeps of a photo's look: the four aspects the JSON reports, and the reasons."""
    sure = [f.confidence >= reasons.MIN_FACE_CONFIDENCE for f in faces]
    trusted = [f.box for f, ok in zip(faces, sure, strict=True) if ok]
    eyes = [c.eyes.value for c, ok in zip(scored.checks, sure, strict=False) if ok]
    on_face = bool(scored.embedding[ON_FACE] > 0.5)
    words = reasons.explain(scored.aspects, trusted, width, height, lk.view_stats, on_face, eyes)
    return {"aspects": {name: round(scored.aspects[name], 4) for name in ASPECTS}, "reasons": words}


def default_workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))


@contextmanager
def cpu_share(scorer: Scorer) -> Iterator[None]:
    """On the CPU, give torch half the cores for the pass and leave the rest to decoding (the ONNX runtime's
    sessions have that many threads from the start: runtime.scorer.default_threads).

    torch's OpenMP threads spin while they wait; with decode threads on the same cores they fight.
    Measured on 2 cores (tools/benchmark.py): 3.8 photos/s with 2 torch threads, 10.9 with 1.
    With torch's OpenMP backend the count belongs to the calling thread, so a crop search or training on
    another thread neither sees nor undoes it.
    """
    before = _torch_threads(scorer, max(1, (os.cpu_count() or 2) // 2))
    try:
        yield
    finally:
        if before:
            _torch_threads(scorer, before)
        if hasattr(scorer, "use_cores"):
            scorer.use_cores(1)


def score(
    targets: Iterable[Path],
    catalog: Catalog,
    scorer: Scorer,
    *,
    progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
    batch_size: int = 16,
    workers: int | None = None,
    thumbnail_root: Path | None = None,
    eyes_beside: bool = False,
) -> Summary:
    """Index `targets` and score every photo that needs it. Returns when done or cancelled.

    ``eyes_beside`` measures a batch's eyes on a thread of their own while the next batch is scored (while
    photos are still being decoded); off by default: on the loaded 2-core VM it did not beat measuring them
    on the scoring thread (docs/benchmarks.md, "Eyes and focus")."""
    cancel = cancel or threading.Event()
    todo, tally = Tally.begin(targets, catalog, scorer, cancel, progress)
    batch: list[Prepared] = []
    errors: list[Result] = []
    started: list[tuple[Callable[[], list[Result]], list[Result]]] = []  # a batch scored, its eyes under way

    def finish() -> None:
        """Record the batch started last (waiting for its eyes)."""
        if not started:
            return
        made, errs = started.pop()
        results = made() + errs
        catalog.record(results, scorer.model_name, scorer.info.id)
        tally.recorded(results)
        tally.tell(todo[tally.done - 1].path if tally.done else None)

    decoded = threading.Event()  # every photo decoded: nothing left to overlap the eyes with

    def flush() -> None:
        # Once decoding is done the backbone has every core: a batch's eyes then run here, on every core too,
        # rather than on one core beside it (the last batch's eyes on one thread were the pass's tail).
        try:
            beside = eyes if eyes_beside and not decoded.is_set() else None
            made = _start(list(batch), scorer, beside) if batch else list
        except BaseException:
            finish()  # a failing batch loses only itself, as when batches were recorded at once
            raise
        finish()  # the previous batch: its eyes ran beside this one's backbone
        started.append((made, list(errors)))
        batch.clear()
        errors.clear()

    def all_cores() -> None:
        # decoding has finished: the batches still queued (up to two) get every core instead of half
        decoded.set()
        _torch_threads(scorer, os.cpu_count() or 1)
        if hasattr(scorer, "use_cores"):  # the CPU runtime: each batch in parts, one per core
            scorer.use_cores(os.cpu_count() or 1)

    n_workers = workers or default_workers()
    with (cpu_share(scorer), ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="decode") as pool,
          ThreadPoolExecutor(max_workers=1, thread_name_prefix="eyes") as eyes):
        stream = decoded_in_order(pool, todo, window=2 * batch_size + n_workers, cancel=cancel,
                                   thumbnail_root=thumbnail_root, decoded_all=all_cores)
        try:
            for item, outcome in stream:
                if isinstance(outcome, Prepared):
                    batch.append(outcome)
                else:
                    errors.append(Result(photo_id=item.photo_id, error=outcome))
                    tally.failed += 1
                if len(batch) >= batch_size or len(errors) >= batch_size:
                    flush()
            if not cancel.is_set() and (batch or errors):
                flush()
            if not cancel.is_set():
                finish()  # a cancel keeps what was recorded before it, as when batches were recorded at once
        finally:
            stream.close()
    return tally.summary(cancel.is_set())


def plan(targets: Iterable[Path], catalog: Catalog, scorer: Scorer | HeadOnly,
         cancel: threading.Event) -> tuple[IndexReport, set[int], list[Todo]]:
    """Index `targets`, score from stored embeddings what can be, and say what must still be decoded:
    (the index report, the photo ids scored from embeddings, the photos to decode). The local pass and the
    cluster pass (selfie_desk/cluster) both start here."""
    report = index(targets, catalog, scorer.model_name, scorer.info.id)
    # Photos whose stored embedding this model's head can read are scored from it (switching models);
    # only the others are decoded. An embedding of an older layout is made again by decoding the photo.
    # Photos with a face found before eyes and focus were measured are decoded again for them (catalog 5).
    # Photos scored before signatures were kept (catalog 8) are decoded again for one, and photos with a face found
    # before identities were kept (catalog 9) for who is in them.
    unmeasured = catalog.unmeasured_faces(t.photo_id for t in report.todo)
    unmeasured |= catalog.unsigned(t.photo_id for t in report.todo)
    unmeasured |= catalog.unidentified_faces(t.photo_id for t in report.todo)
    reused = rescore.from_embeddings(catalog, scorer.head, scorer.model_name,
                                     [t.photo_id for t in report.todo if t.photo_id not in unmeasured],
                                     cancel=cancel, head_id=scorer.info.id)
    return report, reused, [t for t in report.todo if t.photo_id not in reused]


def decoded_in_order(
    pool: ThreadPoolExecutor, todo: list[Todo], *, window: int, cancel: threading.Event, thumbnail_root: Path | None,
    decoded_all: Callable[[], None] | None = None,
) -> Generator[tuple[Todo, Prepared | str], None, None]:
    """Yield (todo, Prepared or error message) in order, keeping at most `window` decodes in flight; call
    `decoded_all` once every photo has been decoded (the rest is only the consumer's work)."""
    pending: deque[tuple[Todo, Future[Prepared]]] = deque()
    queue = iter(todo)
    submitted_all = False
    try:
        while not cancel.is_set():
            while len(pending) < window and not submitted_all:
                item = next(queue, None)
                if item is None:
                    submitted_all = True
                    break
                pending.append((item, pool.submit(prepare, item, thumbnail_root)))
            if not pending:
                return
            item, future = pending.popleft()
            outcome: Prepared | str
            try:
                outcome = future.result()
            except decoding.PhotoError as exc:
                outcome = str(exc)
            except Exception as exc:  # one odd file must not end the scan
                outcome = f"cannot process: {type(exc).__name__}: {exc}"
            if submitted_all and decoded_all is not None and all(f.done() for _, f in pending):
                decoded_all()
                decoded_all = None
            yield item, outcome
    finally:
        for _, future in pending:
            future.cancel()
