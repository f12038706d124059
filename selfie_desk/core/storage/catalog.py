"""The catalog: one SQLite file (WAL) that remembers every photo, its scores, faces, embedding and the
user's decisions, across folders and restarts.

A photo is identified by its path, and recognised after a rename or move by a content fingerprint, so
scores and decisions follow the file. Each batch of results is committed on its own: killing the
process loses at most the batch in flight.
"""

from __future__ import annotations

import gc
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np

from selfie_desk.core.vocabulary import GroupKind

if TYPE_CHECKING:
    from selfie_desk.core.map.layout import MapLayout

Box = tuple[float, float, float, float]

# Each entry brings the schema from version i to i + 1. Never edit a released entry: append a new one.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE photos (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        fingerprint TEXT NOT NULL,
        width INTEGER,
        height INTEGER,
        captured_at TEXT,
        error TEXT,
        decision TEXT CHECK (decision IN ('keep', 'reject')),
        rating INTEGER NOT NULL DEFAULT 0 CHECK (rating BETWEEN 0 AND 5),
        crop TEXT,
        embedding BLOB,
        embedding_model TEXT,
        indexed_at REAL NOT NULL,
        missing_since REAL
    );
    CREATE INDEX photos_fingerprint ON photos (fingerprint);
    CREATE TABLE scores (
        photo_id INTEGER NOT NULL REFERENCES photos (id) ON DELETE CASCADE,
        model TEXT NOT NULL,
        score REAL NOT NULL,
        scored_at REAL NOT NULL,
        PRIMARY KEY (photo_id, model)
    );
    CREATE TABLE faces (
        id INTEGER PRIMARY KEY,
        photo_id INTEGER NOT NULL REFERENCES photos (id) ON DELETE CASCADE,
        x0 REAL NOT NULL, y0 REAL NOT NULL, x1 REAL NOT NULL, y1 REAL NOT NULL,
        confidence REAL NOT NULL,
        landmarks TEXT
    );
    CREATE INDEX faces_photo ON faces (photo_id);
    """,
    # 2: the crop search's proposals, per model and aspect preset (the accepted crop stays in photos.crop).
    """
    CREATE TABLE crop_proposals (
        photo_id INTEGER NOT NULL REFERENCES photos (id) ON DELETE CASCADE,
        model TEXT NOT NULL,
        aspect TEXT NOT NULL,
        x0 REAL NOT NULL, y0 REAL NOT NULL, x1 REAL NOT NULL, y1 REAL NOT NULL,
        score REAL NOT NULL,
        whole_score REAL NOT NULL,
        alternatives TEXT NOT NULL,
        proposed_at REAL NOT NULL,
        PRIMARY KEY (photo_id, model, aspect)
    );
    """,
    # 3: which version of the crop search made a proposal: a better search proposes again (a stored
    # proposal's crop and score stay valid meanwhile: the score is the convnet's own, not the search's).
    """
    ALTER TABLE crop_proposals ADD COLUMN search TEXT NOT NULL DEFAULT '';
    """,
    # 4: the score learned from people (issue 12). Which layout each stored embedding has (the first ones
    # are the last layer alone), what the score is made of (aspects and reasons, JSON), and which version
    # of a head made each score: a newer default head scores again instead of keeping stale numbers.
    """
    ALTER TABLE photos ADD COLUMN embedding_id TEXT;
    UPDATE photos SET embedding_id = 'mobilenet_v2-b0353104.pth' WHERE embedding IS NOT NULL;
    ALTER TABLE photos ADD COLUMN look TEXT;
    ALTER TABLE scores ADD COLUMN head TEXT NOT NULL DEFAULT '';
    """,
    # 5: photos of one moment as groups (issue 14, core/culling/groups.py). One self-contained entry: the exposure
    # bias brackets are told by, the groups and who is in each (a photo in at most one). A group the user
    # edited is `manual`: automatic grouping never touches it or its members again.
    """
    ALTER TABLE photos ADD COLUMN exposure_bias REAL;
    CREATE TABLE photo_groups (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('burst', 'similar', 'bracket', 'panorama', 'single')),
        manual INTEGER NOT NULL DEFAULT 0,
        made_at REAL NOT NULL
    );
    CREATE TABLE group_members (
        photo_id INTEGER PRIMARY KEY REFERENCES photos (id) ON DELETE CASCADE,
        group_id INTEGER NOT NULL REFERENCES photo_groups (id) ON DELETE CASCADE
    );
    CREATE INDEX group_members_group ON group_members (group_id);
    """,
    # 6: each face's eyes and focus (issue 14). NULL eyes: the face was found before these were measured (read
    # as unknown; the photo is scored again on the next scan: `_UNMEASURED`). Self-contained, for merge order.
    """
    ALTER TABLE faces ADD COLUMN eyes TEXT CHECK (eyes IN ('open', 'closed', 'unknown'));
    ALTER TABLE faces ADD COLUMN sharpness REAL;
    """,
    # 7: RAW+JPEG pairs (issue 17, core/formats/raw.py): a raw's row names the JPEG of the same NAME beside it, which
    # has no row of its own (one photo, one set of decisions). NULL: no JPEG beside it. Self-contained, for merge order.
    """
    ALTER TABLE photos ADD COLUMN pair TEXT;
    """,
    # 8: each photo's signature (issue 14, core/measures/registration.py): its luma at 64 px on the long side, uint8
    # rows of `signature_width`, what grouping registers frames by (panoramas, the finer check). NULL: scored before
    # this (the photo is read again on the next scan: `_UNSIGNED`). Self-contained, for merge order.
    """
    ALTER TABLE photos ADD COLUMN signature BLOB;
    ALTER TABLE photos ADD COLUMN signature_width INTEGER;
    """,
    # 9: who each face is (issue 28, neural/identity.py): dlib's 128-value face descriptor as float16, what the key
    # people are matched across photos by; an empty blob for a face too small to tell; NULL: found before this (the
    # photo is read again on the next scan: `_UNIDENTIFIED`). And the catalog's grouping stamp: one row whose
    # generation every change of the groups bumps (a regrouping, a split, a merge, an undo), with the thresholds the
    # last regrouping used, so a window notices a regrouping made elsewhere (`selfie-desk groups`) with one cheap read.
    """
    ALTER TABLE faces ADD COLUMN identity BLOB;
    CREATE TABLE grouping_stamp (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        generation INTEGER NOT NULL,
        thresholds TEXT,
        made_at REAL NOT NULL
    );
    INSERT INTO grouping_stamp (id, generation, thresholds, made_at) VALUES (1, 0, NULL, 0);
    """,
    # 10: each file's inode and change time (issue 31): a photo replaced by another of the same name, size and mtime
    # (a copy that kept its times) shows in them, so indexing reads its fingerprint again; unchanged files still
    # cost a stat. NULL: catalogued before this (filled in by the next scan without reading the file). User data
    # untouched. Self-contained, for merge order.
    """
    ALTER TABLE photos ADD COLUMN inode INTEGER;
    ALTER TABLE photos ADD COLUMN ctime_ns INTEGER;
    """,
    # 11: the wide blobs out of `photos` into a table of their own (issue 31): each photo's embedding (float16) and
    # signature (uint8) made its row ~7 KB, which SQLite rewrote whole for every star, pick or undo (a bulk edit of
    # 17,105 photos wrote ~200 MB). `photo_features` has one row per photo that has any of them (none: never scored
    # or its content changed), deleted with the photo. `photos` is then rebuilt without them (SQLite's own recipe:
    # create, copy, drop, rename, with foreign keys off while `_migrate` runs): DROP COLUMN would leave one row per
    # 4 KB page, as the blobs had spread them, and an edit would still write a page per photo. Nothing lost.
    """
    CREATE TABLE photo_features (
        photo_id INTEGER PRIMARY KEY REFERENCES photos (id) ON DELETE CASCADE,
        embedding BLOB,
        embedding_model TEXT,
        embedding_id TEXT,
        signature BLOB,
        signature_width INTEGER
    );
    INSERT INTO photo_features (photo_id, embedding, embedding_model, embedding_id, signature, signature_width)
        SELECT id, embedding, embedding_model, embedding_id, signature, signature_width FROM photos
        WHERE embedding IS NOT NULL OR embedding_model IS NOT NULL OR embedding_id IS NOT NULL
        OR signature IS NOT NULL OR signature_width IS NOT NULL;
    CREATE TABLE photos_11 (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        fingerprint TEXT NOT NULL,
        width INTEGER,
        height INTEGER,
        captured_at TEXT,
        error TEXT,
        decision TEXT CHECK (decision IN ('keep', 'reject')),
        rating INTEGER NOT NULL DEFAULT 0 CHECK (rating BETWEEN 0 AND 5),
        crop TEXT,
        indexed_at REAL NOT NULL,
        missing_since REAL,
        look TEXT,
        exposure_bias REAL,
        pair TEXT,
        inode INTEGER,
        ctime_ns INTEGER
    );
    INSERT INTO photos_11 (id, path, size, mtime_ns, fingerprint, width, height, captured_at, error, decision, rating,
                           crop, indexed_at, missing_since, look, exposure_bias, pair, inode, ctime_ns)
        SELECT id, path, size, mtime_ns, fingerprint, width, height, captured_at, error, decision, rating, crop,
               indexed_at, missing_since, look, exposure_bias, pair, inode, ctime_ns FROM photos ORDER BY id;
    DROP TABLE photos;
    ALTER TABLE photos_11 RENAME TO photos;
    CREATE INDEX photos_fingerprint ON photos (fingerprint);
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)
# The schema whose migration took the blobs out of `photos`: a catalog older than it is VACUUMed once after migrating.
_BLOBS_MOVED = 11
# The score of the crop the user accepted is kept beside the proposals, under this aspect name, with its box: it
# counts only while photos.crop is still that box (an undo, or a crop from a sidecar, has no score).
ACCEPTED_CROP = "accepted"
# A photo with a face whose eyes were never measured (found by a version before schema 6) needs scoring again;
# photos without faces, and faces measured as unknown, do not.
_UNMEASURED = "EXISTS (SELECT 1 FROM faces f WHERE f.photo_id = p.id AND f.eyes IS NULL)"
# A photo scored before signatures were kept (schema 8) needs reading again too (its embedding alone cannot give one).
_UNSIGNED = ("EXISTS (SELECT 1 FROM photo_features x WHERE x.photo_id = p.id AND x.embedding IS NOT NULL "
             "AND x.signature IS NULL)")
# A photo with a stored embedding (schema 11 keeps it in photo_features).
_EMBEDDED = "EXISTS (SELECT 1 FROM photo_features x WHERE x.photo_id = p.id AND x.embedding IS NOT NULL)"
# A photo with a face found before identities were kept (schema 9) needs reading again (a face too small to tell has
# an empty identity, not NULL).
_UNIDENTIFIED = "EXISTS (SELECT 1 FROM faces f WHERE f.photo_id = p.id AND f.identity IS NULL)"


def create_undo_log(db: sqlite3.Connection) -> None:
    """The undo history (core/culling/history.py): a table of its own, created when missing rather than by a migration,
    so that it needs no schema version (a catalog of any version gains it; an older Selfie Desk ignores it)."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS undo_log (id INTEGER PRIMARY KEY, scope TEXT NOT NULL, label TEXT NOT NULL, "
        "changes TEXT NOT NULL, undone INTEGER NOT NULL DEFAULT 0, made_at REAL NOT NULL)"
    )
    db.execute("CREATE INDEX IF NOT EXISTS undo_log_scope ON undo_log (scope, undone, id)")


def create_map_cache(db: sqlite3.Connection) -> None:
    """The folder maps (core/map/layout.py), one row per folder and embedding layout: a cache, rebuilt when lost,
    so a table created when missing like the undo log, with no schema version (an older Selfie Desk ignores it)."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS map_layouts (folder TEXT NOT NULL, embedding_id TEXT NOT NULL, "
        "method TEXT NOT NULL, cols INTEGER NOT NULL, rows INTEGER NOT NULL, ids BLOB NOT NULL, "
        "points BLOB NOT NULL, cells BLOB NOT NULL, made_at REAL NOT NULL, PRIMARY KEY (folder, embedding_id))"
    )


class LookRecord(TypedDict, total=False):
    """What the catalog keeps of a photo's look (the scoring pass's `describe`, stored as JSON). Both keys are
    always written; readers still take a missing one as unknown."""

    aspects: dict[str, float]  # name: 0-1
    reasons: list[str]


class StoredLook(Mapping[str, Any]):
    """A photo's look (a `LookRecord`) as the catalog stores it, its JSON parsed the first time it is read.

    Opening a folder reads every photo's row, but its look is only read for the photos the user looks at (the side
    panel, a tooltip), a filter by reason, or a ranking: parsing all 50,000 on opening took 0.3-0.6 s of the
    window's thread (issue 31). Equal texts are equal looks, told apart without parsing either."""

    __slots__ = ("_parsed", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._parsed: dict[str, Any] | None = None

    @property
    def parsed(self) -> bool:
        return self._parsed is not None

    def _record(self) -> dict[str, Any]:
        if self._parsed is None:
            self._parsed = json.loads(self._text)
        return self._parsed

    def __getitem__(self, key: str) -> Any:
        return self._record()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._record())

    def __len__(self) -> int:
        return len(self._record())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, StoredLook):
            return self._text == other._text or self._record() == other._record()
        return self._record() == other

    __hash__ = None  # type: ignore[assignment]  # as a dict's: a look is not hashed

    def __repr__(self) -> str:
        return repr(self._record())


@dataclass(frozen=True)
class FaceBox:
    box: Box
    confidence: float
    eyes: str = "unknown"  # open | closed | unknown (also: not measured)
    sharpness: float | None = None  # in [0, 1]; None when not measured or too small to tell
    # who it is (neural/identity.py, 128 values; core/culling/people.py matches them); None: too small to tell, not
    # measured
    identity: np.ndarray | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {"box": [round(v, 1) for v in self.box], "confidence": round(self.confidence, 4), "eyes": self.eyes,
                "sharpness": None if self.sharpness is None else round(self.sharpness, 4)}


@dataclass(frozen=True)
class FileState:
    """What the catalog knows of a file on disk, enough to decide whether to read it again."""

    id: int
    path: str
    size: int
    mtime_ns: int
    fingerprint: str
    error: str | None
    scored: bool
    missing: bool = False
    pair: str | None = None  # the JPEG beside a raw (RAW+JPEG), as the catalog has it
    stamp: tuple[int, int] | None = None  # (inode, ctime_ns) when last read; None: not known (schema 8 or older)


@dataclass(frozen=True)
class Photo:
    id: int
    path: str
    width: int | None
    height: int | None
    captured_at: str | None
    error: str | None
    score: float | None
    decision: str | None
    rating: int
    crop: Box | None
    fingerprint: str = ""
    faces: list[FaceBox] = field(default_factory=list)
    best_crop_score: float | None = None  # the best proposed crop's score over all presets ("keeper once cropped")
    # {"aspects": {name: 0-1}, "reasons": [str]} from the scoring pass; read from the catalog, parsed when first read
    look: LookRecord | StoredLook | None = None

    @property
    def aspects(self) -> dict[str, float] | None:
        return None if self.look is None else self.look.get("aspects")

    @property
    def reasons(self) -> list[str]:
        return [] if self.look is None else list(self.look.get("reasons", []))

    def look_json(self) -> dict[str, Any]:
        """`aspects` and `reasons` as the JSON contract prints them."""
        aspects = self.aspects
        return {
            "aspects": None if aspects is None else {k: round(float(v), 4) for k, v in aspects.items()},
            "reasons": self.reasons,
        }
    crop_score: float | None = None  # the accepted crop's score, when known
    group_id: int | None = None  # the photo's group (core/culling/groups.py), None before grouping
    pair: str | None = None  # the JPEG of a RAW+JPEG pair (`path` is the raw), None for a photo on its own

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "score": None if self.score is None else round(self.score, 6),
            "faces": [f.to_json() for f in self.faces],
            "width": self.width,
            "height": self.height,
            "error": self.error,
            **self.look_json(),
            "pair": self.pair,
        }


@dataclass(frozen=True)
class CropProposal:
    """What the crop search proposed for one photo, one model and one aspect preset."""

    aspect: str
    crop: Box  # whole pixels of the upright full-resolution photo
    score: float
    alternatives: list[tuple[Box, float]]  # distinct from the best and each other, best first
    whole_score: float  # the uncropped photo scored on the same scale
    proposed_at: float = 0.0
    search: str = ""  # the crop search's version (cropping.SEARCH_VERSION); "" before versions were kept


@dataclass(frozen=True)
class Result:
    """One photo's outcome from the scoring pass, ready to store."""

    photo_id: int
    width: int | None = None
    height: int | None = None
    captured_at: str | None = None
    score: float | None = None
    embedding: np.ndarray | None = None
    faces: Sequence[tuple[Box, float, Sequence[tuple[float, float]]]] = ()
    # each face's (eyes, sharpness), in the order of `faces`; left empty, the faces are stored as not measured
    face_checks: Sequence[tuple[str, float | None]] = ()
    # each face's identity (neural/identity.py: 128 values; None: too small to tell), in the order of `faces`; left
    # empty, the faces are stored as not identified (read again on the next scan)
    face_identities: Sequence[np.ndarray | None] = ()
    error: str | None = None
    embedding_id: str | None = None  # the layout of `embedding` (model.EMBEDDING_ID)
    look: LookRecord | None = None  # aspects and reasons
    exposure_bias: float | None = None  # EXIF ExposureBiasValue (EV)
    signature: np.ndarray | None = None  # h x w uint8 (core/measures/registration.py)
    note: str | None = None  # told to the user, not stored (a pair read from its JPEG: decoding.Decoded.note)


@dataclass(frozen=True)
class StoredGroup:
    """A group as the catalog keeps it: `manual` once the user edited it (then grouping leaves it alone)."""

    id: int
    kind: str
    manual: bool
    photo_ids: tuple[int, ...]


GROUP_KINDS = tuple(k.value for k in GroupKind)


def _prefix_bounds(folder: str) -> tuple[str | bytes, str | bytes]:
    """Range of paths strictly inside `folder` ('/' + 1 == '0'), so the path index answers subtree queries."""
    base = folder.rstrip("/") + "/"
    return db_path(base), db_path(base[:-1] + "0")


# ---- file names that are not UTF-8 (issue 15) ---------------------------------------------------------------------
# A Linux file name is bytes; Python hands a non-UTF-8 one over with surrogate escapes (os.fsdecode), which
# sqlite3 cannot encode. Such a path is bound as its bytes and stored as TEXT through `CAST(? AS TEXT)`
# (SQLite does not check UTF-8), and every TEXT is read back with surrogateescape: lossless both ways, and
# the BINARY collation keeps the folder-prefix ranges right. UTF-8 names are stored exactly as before.


def db_path(path: str) -> str | bytes:
    """A path as bound in SQL: itself, or its bytes on disk when it is not valid UTF-8."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape")


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


class NewerCatalogError(RuntimeError):
    """The catalog was written by a newer Selfie Desk: refused, and never modified."""


class CatalogNotAFile(OSError):
    """The catalog's path (or its WAL beside it) is a FIFO, a folder, a device...: SQLite would block on it for ever
    (a FIFO) or fail obscurely, so it is refused before SQLite ever opens it, and left as it is."""


def _check_regular(path: Path) -> None:
    import stat

    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            mode = os.stat(candidate).st_mode
        except FileNotFoundError:
            continue
        except OSError:
            continue  # unreadable: SQLite says why, in its own words
        if not stat.S_ISREG(mode):
            kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a folder" if stat.S_ISDIR(mode)
                    else "a socket" if stat.S_ISSOCK(mode) else "a device")
            raise CatalogNotAFile(f"{candidate} is {kind}, not a regular file")


class Catalog:
    """The photo catalog. One instance per thread: sqlite connections are not shared across threads."""

    def __init__(self, path: Path, *, readonly: bool = False, immutable: bool = False):
        """`readonly`: never write (`list` on a read-only home or while another process writes); `immutable`
        as well: a read-only folder where SQLite cannot even create the WAL's shared-memory file."""
        self.path = Path(path)
        self.readonly = readonly or immutable
        _check_regular(self.path)  # before SQLite opens it: a FIFO would block the open for ever
        if self.readonly:
            mode = "ro&immutable=1" if immutable else "ro"
            uri = f"{self.path.resolve().as_uri()}?mode={mode}"
            self._db = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
        self._db.text_factory = _text
        try:
            self._check_version()  # before anything writes: a newer catalog is left exactly as it is
            if not self.readonly:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            if not self.readonly:
                self._migrate()
                create_undo_log(self._db)
                create_map_cache(self._db)
        except BaseException:
            self._db.close()
            raise

    # ---- lifecycle -------------------------------------------------------------------------------
    def _check_version(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise NewerCatalogError(
                f"catalog {self.path} was written by a newer Selfie Desk (schema {version} > {SCHEMA_VERSION})"
            )
        if self.readonly and version < SCHEMA_VERSION:
            raise sqlite3.OperationalError(
                f"catalog {self.path} needs an upgrade (schema {version} < {SCHEMA_VERSION}) and is read-only"
            )

    def _migrate(self) -> None:
        """Each migration in a transaction of its own, with foreign keys off (a migration that rebuilds a table drops
        the old one, which must not cascade into its children: SQLite's recipe), refused (rolled back) if it leaves
        more rows pointing nowhere than there were (an old catalog's own strays do not stop it opening)."""
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version >= SCHEMA_VERSION:
            return
        self._db.execute("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction: set before each begins
        moved_blobs = False
        try:
            for target in range(version, SCHEMA_VERSION):
                with self.transaction():
                    # Read again under the write lock: another process (a `score`, a window) may have brought the
                    # catalog this far while this one waited for the lock; its step is not done twice.
                    if self._db.execute("PRAGMA user_version").fetchone()[0] > target:
                        continue
                    moved_blobs = moved_blobs or target + 1 == _BLOBS_MOVED
                    strays = len(self._db.execute("PRAGMA foreign_key_check").fetchall())
                    for statement in _split_sql(MIGRATIONS[target]):
                        self._db.execute(statement)
                    broken = self._db.execute("PRAGMA foreign_key_check").fetchall()
                    if len(broken) > strays:
                        raise sqlite3.IntegrityError(f"migration {target + 1} broke foreign keys: {broken[:3]}")
                    self._db.execute(f"PRAGMA user_version = {target + 1}")
        finally:
            self._db.execute("PRAGMA foreign_keys=ON")
        # The blobs' move freed the old `photos` (as big as the blobs): give it back to the disk once, and empty the
        # WAL the move and VACUUM filled (it stays that big while the catalog is open).
        if moved_blobs and version > 0:
            try:
                self._db.execute("VACUUM")
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.OperationalError:  # a full disk, a busy catalog: it stays as valid, only bigger
                pass

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write; nested calls join the outer transaction."""
        if self._db.in_transaction:
            yield self._db
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # ---- indexing --------------------------------------------------------------------------------
    def file_states(self, model: str, folder: str | None = None, paths: Iterable[str] = (),
                    head: str | None = None) -> dict[str, FileState]:
        """Known files under `folder` (recursively) and/or at `paths`, keyed by path. With `head`, a score
        counts as there only if that version of the model's head made it."""
        query = (
            "SELECT p.id, p.path, p.size, p.mtime_ns, p.fingerprint, p.error, "
            f"s.score IS NOT NULL AND (? IS NULL OR s.head = ?) AND NOT {_UNMEASURED} AND NOT {_UNSIGNED} "
            f"AND NOT {_UNIDENTIFIED}, "
            "p.missing_since IS NOT NULL, p.pair, p.inode, p.ctime_ns FROM photos p "
            "LEFT JOIN scores s ON s.photo_id = p.id AND s.model = ? "
        )
        rows: list[tuple[Any, ...]] = []
        if folder is not None:
            lo, hi = _prefix_bounds(folder)
            rows += self._db.execute(query + "WHERE p.path > CAST(? AS TEXT) AND p.path < CAST(? AS TEXT)",
                                     (head, head, model, lo, hi)).fetchall()
        for path in paths:
            rows += self._db.execute(query + "WHERE p.path = CAST(? AS TEXT)",
                                     (head, head, model, db_path(path))).fetchall()
        return {r[1]: FileState(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), bool(r[7]), r[8],
                                None if r[9] is None or r[10] is None else (int(r[9]), int(r[10]))) for r in rows}

    def orphan_with_fingerprint(self, fingerprint: str, exists: Callable[[str], bool]) -> FileState | None:
        """A catalogued photo with this content whose file is gone: the same photo, renamed or moved."""
        for row in self._db.execute(
            "SELECT id, path, size, mtime_ns, fingerprint, error FROM photos WHERE fingerprint = ?", (fingerprint,)
        ):
            photo_id, path, size, mtime_ns, fp, error = row
            if not exists(path):
                return FileState(photo_id, path, size, mtime_ns, fp, error, scored=False)
        return None

    def is_scored(self, photo_id: int, model: str, head: str | None = None) -> bool:
        row = self._db.execute("SELECT 1 FROM scores s JOIN photos p ON p.id = s.photo_id WHERE s.photo_id = ? "
                               f"AND s.model = ? AND (? IS NULL OR s.head = ?) AND NOT {_UNMEASURED} "
                               f"AND NOT {_UNSIGNED} AND NOT {_UNIDENTIFIED}",
                               (photo_id, model, head, head)).fetchone()
        return row is not None

    def unmeasured_faces(self, photo_ids: Iterable[int]) -> set[int]:
        """Those of `photo_ids` with a face whose eyes and focus were never measured: their stored embedding
        can give a score, but only the scoring pass measures the faces."""
        return {r[0] for r in self._rows_in(
            "SELECT DISTINCT photo_id FROM faces WHERE eyes IS NULL AND photo_id IN ({marks})", photo_ids)}

    def unidentified_faces(self, photo_ids: Iterable[int]) -> set[int]:
        """Those of `photo_ids` with a face found before identities were kept (schema 9): only the pass tells."""
        return {r[0] for r in self._rows_in(
            "SELECT DISTINCT photo_id FROM faces WHERE identity IS NULL AND photo_id IN ({marks})", photo_ids)}

    def unsigned(self, photo_ids: Iterable[int]) -> set[int]:
        """Those of `photo_ids` scored before signatures were kept: only the scoring pass makes one."""
        return {r[0] for r in self._rows_in(
            f"SELECT id FROM photos p WHERE {_UNSIGNED} AND id IN ({{marks}})", photo_ids)}

    def _rows_in(self, query: str, ids: Iterable[int]) -> Iterator[tuple[Any, ...]]:
        """The rows of `query` whose `IN ({marks})` takes `ids`, asked 500 at a time (SQLite's bound on
        parameters)."""
        for chunk in _chunks(list(ids), 500):
            yield from self._db.execute(query.format(marks=",".join("?" * len(chunk))), chunk)

    def add_file(self, path: str, size: int, mtime_ns: int, fingerprint: str,
                 stamp: tuple[int, int] | None = None) -> int:
        cur = self._db.execute(
            "INSERT INTO photos (path, size, mtime_ns, fingerprint, indexed_at, inode, ctime_ns) "
            "VALUES (CAST(? AS TEXT), ?, ?, ?, ?, ?, ?)",
            (db_path(path), size, mtime_ns, fingerprint, time.time(), *(stamp or (None, None))),
        )
        assert cur.lastrowid is not None  # set by every INSERT into a rowid table
        return int(cur.lastrowid)

    def set_stamp(self, photo_id: int, stamp: tuple[int, int] | None) -> None:
        """The file's (inode, ctime_ns) as just read: its content was checked (or is new) at that stamp."""
        self._db.execute("UPDATE photos SET inode = ?, ctime_ns = ? WHERE id = ?", (*(stamp or (None, None)), photo_id))

    def set_aside(self, photo_id: int) -> None:
        """Another photo took this one's path (a file replaced by another of the same name): this row, with its
        scores and decisions, moves to a path no file can have and waits as missing photos do, for its content
        to turn up again (found by its fingerprint) or for the user's word (forget-missing)."""
        row = self._db.execute("SELECT path FROM photos WHERE id = ?", (photo_id,)).fetchone()
        if row is None:
            return
        self._db.execute(
            "UPDATE photos SET path = CAST(? AS TEXT), missing_since = ?, inode = NULL, ctime_ns = NULL WHERE id = ?",
            (db_path(f"{row[0]}/.replaced-{photo_id}-{time.time_ns()}"), time.time(), photo_id))

    def move_file(self, photo_id: int, new_path: str, size: int, mtime_ns: int) -> None:
        self._db.execute(
            "UPDATE photos SET path = CAST(? AS TEXT), size = ?, mtime_ns = ?, missing_since = NULL WHERE id = ?",
            (db_path(new_path), size, mtime_ns, photo_id),
        )

    def set_pair(self, photo_id: int, pair: str | None) -> None:
        """The JPEG beside a raw (RAW+JPEG: one photo), or None when there is none (any more)."""
        self._db.execute("UPDATE photos SET pair = CAST(? AS TEXT) WHERE id = ?",
                         (None if pair is None else db_path(pair), photo_id))

    def merge_pair(self, raw_id: int, jpeg_id: int) -> None:
        """A JPEG catalogued on its own turned out to be a raw's pair: its own row goes (one photo, one set of
        decisions: the culling session's `hand_over` gives the raw's row the JPEG's first)."""
        self._db.execute("DELETE FROM photos WHERE id = ?", (jpeg_id,))

    def found_again(self, photo_id: int) -> None:
        self._db.execute("UPDATE photos SET missing_since = NULL WHERE id = ?", (photo_id,))

    def mark_missing(self, photo_ids: Iterable[int]) -> None:
        """Files gone from disk leave every listing at once, but their records (scores, the user's decisions)
        wait in case the same photo turns up again; only the user's word forgets them (`purge_missing`)."""
        now = time.time()
        with self.transaction():
            self._db.executemany(
                "UPDATE photos SET missing_since = ? WHERE id = ? AND missing_since IS NULL",
                [(now, i) for i in photo_ids],
            )

    def known_under(self, folder: str) -> list[tuple[int, str, bool]]:
        """(id, path, marked missing) of every photo the catalog has under `folder`, listed or not."""
        lo, hi = _prefix_bounds(folder)
        return [(int(r[0]), r[1], bool(r[2])) for r in self._db.execute(
            "SELECT id, path, missing_since IS NOT NULL FROM photos WHERE path > CAST(? AS TEXT) "
            "AND path < CAST(? AS TEXT) ORDER BY path", (lo, hi))]

    def forget(self, photo_ids: Iterable[int]) -> int:
        """Drop these photos from the catalog, scores and decisions with them: only ever on the user's word."""
        ids = list(photo_ids)
        with self.transaction() as db:
            for chunk in _chunks(ids, 500):
                db.execute(f"DELETE FROM photos WHERE id IN ({','.join('?' * len(chunk))})", chunk)
            self._drop_empty_groups()
        return len(ids)

    def purge_missing(self, older_than_s: float) -> int:
        with self.transaction():
            cur = self._db.execute(
                "DELETE FROM photos WHERE missing_since IS NOT NULL AND missing_since < ?",
                (time.time() - older_than_s,),
            )
        return cur.rowcount

    def file_changed(self, photo_id: int, size: int, mtime_ns: int, fingerprint: str, content_changed: bool) -> None:
        """The file at a known path was modified. New content invalidates what the models said about it,
        but never the user's decisions."""
        with self.transaction():
            self._db.execute(
                "UPDATE photos SET size = ?, mtime_ns = ?, fingerprint = ?, error = NULL, indexed_at = ? WHERE id = ?",
                (size, mtime_ns, fingerprint, time.time(), photo_id),
            )
            if content_changed:
                self._db.execute("DELETE FROM scores WHERE photo_id = ?", (photo_id,))
                self._db.execute("DELETE FROM faces WHERE photo_id = ?", (photo_id,))
                self._db.execute("DELETE FROM crop_proposals WHERE photo_id = ?", (photo_id,))
                self._db.execute("UPDATE photos SET look = NULL WHERE id = ?", (photo_id,))
                self._db.execute("DELETE FROM photo_features WHERE photo_id = ?", (photo_id,))

    def record(self, results: Sequence[Result], model: str, head: str = "") -> None:
        """Store one batch of scoring results atomically."""
        now = time.time()
        with self.transaction() as db:
            for r in results:
                if r.error is not None:
                    db.execute("UPDATE photos SET error = ? WHERE id = ?", (r.error, r.photo_id))
                    continue
                assert r.score is not None, "a result without an error has a score (pipeline.batch_results)"
                db.execute(
                    "UPDATE photos SET width = ?, height = ?, captured_at = ?, error = NULL, look = ?, "
                    "exposure_bias = ? WHERE id = ?",
                    (r.width, r.height, r.captured_at, None if r.look is None else json.dumps(r.look), r.exposure_bias,
                     r.photo_id),
                )
                db.execute(
                    "INSERT OR REPLACE INTO photo_features (photo_id, embedding, embedding_model, embedding_id, "
                    "signature, signature_width) SELECT id, ?, ?, ?, ?, ? FROM photos WHERE id = ?",
                    (
                        None if r.embedding is None else np.asarray(r.embedding, np.float16).tobytes(),
                        model,
                        r.embedding_id,
                        *((None, None) if r.signature is None else _signature_blob(r.signature)),
                        r.photo_id,
                    ),
                )
                db.execute(
                    "INSERT OR REPLACE INTO scores (photo_id, model, score, scored_at, head) VALUES (?, ?, ?, ?, ?)",
                    (r.photo_id, model, float(r.score), now, head),
                )
                db.execute("DELETE FROM faces WHERE photo_id = ?", (r.photo_id,))
                checks: Sequence[tuple[str | None, float | None]] = (
                    r.face_checks if len(r.face_checks) == len(r.faces) else [(None, None)] * len(r.faces)
                )
                identities: Sequence[bytes | None] = (
                    [b"" if v is None else np.asarray(v, np.float16).tobytes() for v in r.face_identities]
                    if len(r.face_identities) == len(r.faces) else [None] * len(r.faces)
                )
                db.executemany(
                    "INSERT INTO faces (photo_id, x0, y0, x1, y1, confidence, landmarks, eyes, sharpness, identity) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (r.photo_id, *map(float, box), float(conf), json.dumps([list(p) for p in marks]), eyes,
                         None if sharp is None else float(sharp), identity)
                        for (box, conf, marks), (eyes, sharp), identity in zip(r.faces, checks, identities, strict=True)
                    ],
                )

    # ---- reading ---------------------------------------------------------------------------------
    def photos(self, model: str, folder: str | None = None, paths: Iterable[str] = ()) -> list[Photo]:
        """Photos under `folder` (recursively) and/or at `paths`, in path order."""
        with _no_collections():  # 50,000 rows: the collector's passes over them took 0.1-0.2 s of the read
            return self._photos(model, folder, paths)

    def _photos(self, model: str, folder: str | None, paths: Iterable[str]) -> list[Photo]:
        query = (
            "SELECT p.id, p.path, p.width, p.height, p.captured_at, p.error, s.score, p.decision, p.rating, p.crop, "
            "p.fingerprint, (SELECT MAX(c.score) FROM crop_proposals c WHERE c.photo_id = p.id AND c.model = ? "
            f"AND c.aspect != '{ACCEPTED_CROP}'), "
            "p.look, (SELECT g.group_id FROM group_members g WHERE g.photo_id = p.id), p.pair "
            "FROM photos p LEFT JOIN scores s ON s.photo_id = p.id AND s.model = ? "
        )
        rows: list[tuple[Any, ...]] = []
        if folder is not None:
            lo, hi = _prefix_bounds(folder)
            rows += self._db.execute(
                query + "WHERE p.path > CAST(? AS TEXT) AND p.path < CAST(? AS TEXT) AND p.missing_since IS NULL",
                (model, model, lo, hi)
            ).fetchall()
        for path in paths:
            rows += self._db.execute(
                query + "WHERE p.path = CAST(? AS TEXT) AND p.missing_since IS NULL", (model, model, db_path(path))
            ).fetchall()
        unique = {r[0]: r for r in rows}
        faces = self._faces(list(unique))
        accepted = self._accepted_crops(list(unique), model)
        out = [
            Photo(
                id=r[0], path=r[1], width=r[2], height=r[3], captured_at=r[4], error=r[5], score=r[6],
                decision=r[7], rating=r[8], crop=tuple(json.loads(r[9])) if r[9] else None,
                fingerprint=r[10], faces=faces.get(r[0], []), best_crop_score=r[11],
                look=StoredLook(r[12]) if r[12] else None,  # parsed when first read
                crop_score=_crop_score(r[9], accepted.get(r[0])), group_id=r[13], pair=r[14],
            )
            for r in unique.values()
        ]
        return sorted(out, key=lambda p: p.path)

    def _faces(self, photo_ids: list[int]) -> dict[int, list[FaceBox]]:
        out: dict[int, list[FaceBox]] = {}
        for chunk in _chunks(photo_ids, 500):
            marks = ",".join("?" * len(chunk))
            for pid, x0, y0, x1, y1, conf, eyes, sharp, identity in self._db.execute(
                "SELECT photo_id, x0, y0, x1, y1, confidence, eyes, sharpness, identity FROM faces "
                f"WHERE photo_id IN ({marks}) ORDER BY confidence DESC, id",
                chunk,
            ):
                vec = np.frombuffer(identity, np.float16) if identity else None
                out.setdefault(pid, []).append(FaceBox((x0, y0, x1, y1), conf, eyes or "unknown", sharp, vec))
        return out

    def _accepted_crops(self, photo_ids: list[int], model: str) -> dict[int, tuple[Box, float]]:
        out: dict[int, tuple[Box, float]] = {}
        for chunk in _chunks(photo_ids, 500):
            marks = ",".join("?" * len(chunk))
            for pid, x0, y0, x1, y1, score in self._db.execute(
                f"SELECT photo_id, x0, y0, x1, y1, score FROM crop_proposals WHERE aspect = '{ACCEPTED_CROP}' "
                f"AND model = ? AND photo_id IN ({marks})",
                [model, *chunk],
            ):
                out[pid] = ((x0, y0, x1, y1), score)
        return out

    # The user's decisions (photos.decision, rating, crop) are written by the culling session alone
    # (core/culling/session.py, through core/culling/history.py): one writer, checked once, undoable.

    # ---- for the desktop app ---------------------------------------------------------------------
    def photos_changed_since(self, model: str, folder: str, since: float) -> list[Photo]:
        """Photos under `folder` scored by `model` at or after `since` (a time.time()), plus those that
        could not be read: what a scan in progress has added since the window last looked."""
        lo, hi = _prefix_bounds(folder)
        rows = self._db.execute(
            "SELECT p.path FROM photos p LEFT JOIN scores s ON s.photo_id = p.id AND s.model = ? "
            "WHERE p.path > CAST(? AS TEXT) AND p.path < CAST(? AS TEXT) AND (s.scored_at >= ? OR p.error IS NOT NULL)",
            (model, lo, hi, since),
        ).fetchall()
        return self.photos(model, paths=[r[0] for r in rows])


    # ---- crop proposals --------------------------------------------------------------------------
    def save_crop_proposal(self, photo_id: int, model: str, proposal: CropProposal) -> None:
        """Store (or replace) the search's proposal for this photo, model and aspect preset."""
        alternatives = json.dumps([[list(map(float, box)), float(score)] for box, score in proposal.alternatives])
        self._db.execute(
            "INSERT OR REPLACE INTO crop_proposals (photo_id, model, aspect, x0, y0, x1, y1, score, whole_score, "
            "alternatives, proposed_at, search) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (photo_id, model, proposal.aspect, *map(float, proposal.crop), float(proposal.score),
             float(proposal.whole_score), alternatives, proposal.proposed_at or time.time(), proposal.search),
        )

    def crop_proposal(self, photo_id: int, model: str, aspect: str, search: str | None = None) -> CropProposal | None:
        """The stored proposal; with `search`, only one that version of the crop search made."""
        row = self._db.execute(
            "SELECT aspect, x0, y0, x1, y1, score, alternatives, whole_score, proposed_at, search FROM crop_proposals "
            "WHERE photo_id = ? AND model = ? AND aspect = ?",
            (photo_id, model, aspect),
        ).fetchone()
        if row is None or (search is not None and row[9] != search):
            return None
        alternatives = [(tuple(box), score) for box, score in json.loads(row[6])]
        return CropProposal(row[0], tuple(row[1:5]), row[5], alternatives, row[7], row[8], row[9])

    # ---- personal models (issue 7) ---------------------------------------------------------------
    def labelled_photos(self, folders: Iterable[str] = ()) -> list[tuple[int, str, str | None, int, bool]]:
        """(id, path, decision, rating, has_embedding) of every present photo the user flagged or rated,
        across the whole catalog or only under `folders` (recursively)."""
        query = (
            f"SELECT id, path, decision, rating, {_EMBEDDED} FROM photos p "
            "WHERE missing_since IS NULL AND (decision IS NOT NULL OR rating > 0)"
        )
        folders = list(folders)
        if not folders:
            rows = self._db.execute(query).fetchall()
        else:
            rows = []
            for folder in folders:
                lo, hi = _prefix_bounds(folder)
                rows += self._db.execute(query + " AND path > CAST(? AS TEXT) AND path < CAST(? AS TEXT)",
                                        (lo, hi)).fetchall()
        unique = {r[0]: (r[0], r[1], r[2], int(r[3]), bool(r[4])) for r in rows}
        return sorted(unique.values(), key=lambda r: r[1])

    def photo_ids_by_path(self, paths: Iterable[str]) -> dict[str, int]:
        out = {}
        for path in paths:
            row = self._db.execute("SELECT id FROM photos WHERE path = CAST(? AS TEXT) AND missing_since IS NULL",
                                   (db_path(path),)).fetchone()
            if row is not None:
                out[path] = int(row[0])
        return out

    def embeddings(self, photo_ids: Sequence[int], stored: bool = False) -> dict[int, tuple[np.ndarray, str | None]]:
        """Stored embeddings (float32; `stored`: float16 as kept, read-only, not converted) with their layout
        (embedding.EMBEDDING_ID, or the first layout's id for embeddings stored before layouts were recorded);
        photos without one are left out."""
        out: dict[int, tuple[np.ndarray, str | None]] = {}
        for chunk in _chunks(list(photo_ids), 500):
            marks = ",".join("?" * len(chunk))
            for pid, blob, layout in self._db.execute(
                "SELECT x.photo_id, x.embedding, x.embedding_id FROM photo_features x "
                "JOIN photos p ON p.id = x.photo_id WHERE x.embedding IS NOT NULL AND p.error IS NULL "
                f"AND x.photo_id IN ({marks})",
                chunk,
            ):
                vec = np.frombuffer(blob, dtype=np.float16)
                out[pid] = (vec if stored else vec.astype(np.float32), layout)
        return out

    def embedding_layouts(self, photo_ids: Sequence[int]) -> dict[int, str | None]:
        """Which of `photo_ids` have a stored embedding, and its layout (as `embeddings`), without reading them."""
        out: dict[int, str | None] = {}
        for chunk in _chunks(list(photo_ids), 500):
            marks = ",".join("?" * len(chunk))
            out.update(self._db.execute(
                "SELECT x.photo_id, x.embedding_id FROM photo_features x JOIN photos p ON p.id = x.photo_id "
                f"WHERE x.embedding IS NOT NULL AND p.error IS NULL AND x.photo_id IN ({marks})", chunk).fetchall())
        return out

    def photos_missing_score(self, model: str, folder: str | None = None, head: str | None = None) -> list[int]:
        """Readable photos with an embedding but no score from `model` (all folders, or under `folder`);
        with `head`, a score another version of the head made counts as missing."""
        query = (
            "SELECT p.id FROM photos p LEFT JOIN scores s ON s.photo_id = p.id AND s.model = ? "
            f"WHERE (s.score IS NULL OR (? IS NOT NULL AND s.head != ?)) AND {_EMBEDDED} "
            "AND p.error IS NULL AND p.missing_since IS NULL"
        )
        if folder is None:
            return [r[0] for r in self._db.execute(query, (model, head, head))]
        lo, hi = _prefix_bounds(folder)
        return [r[0] for r in self._db.execute(query + " AND p.path > CAST(? AS TEXT) AND p.path < CAST(? AS TEXT)",
                                               (model, head, head, lo, hi))]

    def save_scores(self, model: str, scores: Iterable[tuple[int, float]], head: str = "") -> None:
        """Store scores computed without the scoring pass (a head on stored embeddings), atomically."""
        now = time.time()
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO scores (photo_id, model, score, scored_at, head) VALUES (?, ?, ?, ?, ?)",
                [(pid, model, float(score), now, head) for pid, score in scores],
            )

    def forget_model(self, model: str) -> None:
        """Drop what a model said (scores, crop proposals): it was retrained. The user's decisions stay."""
        with self.transaction() as db:
            db.execute("DELETE FROM scores WHERE model = ?", (model,))
            db.execute("DELETE FROM crop_proposals WHERE model = ?", (model,))

    # ---- the folder as a map (issue 20) ----------------------------------------------------------
    def map_layout(self, folder: str, embedding_id: str) -> MapLayout | None:
        """The map last laid out for `folder` from embeddings of `embedding_id`, or None (never made; a
        read-only catalog from before the maps)."""
        try:
            row = self._db.execute(
                "SELECT method, cols, rows, ids, points, cells FROM map_layouts WHERE folder = CAST(? AS TEXT) "
                "AND embedding_id = ?", (db_path(folder), embedding_id)).fetchone()
        except sqlite3.OperationalError:  # no such table: read-only and never written by a version with maps
            return None
        if row is None:
            return None
        from selfie_desk.core.map.layout import MapLayout  # PIL comes with it: only when a map is asked for

        method, cols, rows, ids, points, cells = row
        ids_array = np.frombuffer(ids, dtype=np.int64)
        return MapLayout(tuple(int(i) for i in ids_array), np.frombuffer(points, dtype=np.float32).reshape(-1, 2),
                         np.frombuffer(cells, dtype=np.int32).reshape(-1, 2), int(cols), int(rows), embedding_id,
                         method)

    def forget_map_layouts(self) -> None:
        """Drop every cached map (a cache: the next map of each folder is laid out afresh)."""
        with self.transaction() as db:
            db.execute("DELETE FROM map_layouts")

    def save_map_layout(self, folder: str, layout: MapLayout) -> None:
        """Keep `layout` as `folder`'s map for its embedding layout (replacing the one before)."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO map_layouts (folder, embedding_id, method, cols, rows, ids, points, cells, "
                "made_at) VALUES (CAST(? AS TEXT), ?, ?, ?, ?, ?, ?, ?, ?)",
                (db_path(folder), layout.embedding_id, layout.method, layout.cols, layout.rows,
                 np.asarray(layout.ids, dtype=np.int64).tobytes(),
                 np.ascontiguousarray(layout.points, dtype=np.float32).tobytes(),
                 np.ascontiguousarray(layout.cells, dtype=np.int32).tobytes(), time.time()))

    # ---- groups of one moment (issue 14) ---------------------------------------------------------
    def capture_info(self, photo_ids: Sequence[int]) -> dict[int, tuple[str | None, int, float | None]]:
        """(captured_at, the file's mtime_ns, exposure_bias) per photo: what grouping reads besides embeddings."""
        out: dict[int, tuple[str | None, int, float | None]] = {}
        for chunk in _chunks(list(photo_ids), 500):
            marks = ",".join("?" * len(chunk))
            for pid, when, mtime_ns, bias in self._db.execute(
                f"SELECT id, captured_at, mtime_ns, exposure_bias FROM photos WHERE id IN ({marks})", chunk
            ):
                out[pid] = (when, int(mtime_ns), bias)
        return out

    def signatures(self, photo_ids: Sequence[int]) -> dict[int, np.ndarray]:
        """Stored signatures (h x w uint8, core/measures/registration.py); photos without one are left out."""
        out: dict[int, np.ndarray] = {}
        for chunk in _chunks(list(photo_ids), 500):
            marks = ",".join("?" * len(chunk))
            for pid, blob, width in self._db.execute(
                "SELECT photo_id, signature, signature_width FROM photo_features WHERE signature IS NOT NULL "
                f"AND photo_id IN ({marks})",
                chunk,
            ):
                if width and len(blob) % width == 0:
                    out[pid] = np.frombuffer(blob, np.uint8).reshape(-1, width)
        return out

    def groups(self, photo_ids: Sequence[int]) -> list[StoredGroup]:
        """The stored groups that hold any of `photo_ids`, with all their members (in id order)."""
        group_ids = {r[0] for r in self._rows_in(
            "SELECT group_id FROM group_members WHERE photo_id IN ({marks})", photo_ids)}
        return self._stored_groups(sorted(group_ids))

    def group(self, group_id: int) -> StoredGroup | None:
        found = self._stored_groups([group_id])
        return found[0] if found else None

    def _stored_groups(self, group_ids: list[int]) -> list[StoredGroup]:
        out = []
        for chunk in _chunks(group_ids, 500):
            marks = ",".join("?" * len(chunk))
            members: dict[int, list[int]] = {}
            for pid, gid in self._db.execute(
                f"SELECT photo_id, group_id FROM group_members WHERE group_id IN ({marks}) ORDER BY photo_id", chunk
            ):
                members.setdefault(gid, []).append(pid)
            for gid, kind, manual in self._db.execute(
                f"SELECT id, kind, manual FROM photo_groups WHERE id IN ({marks}) ORDER BY id", chunk
            ):
                out.append(StoredGroup(gid, kind, bool(manual), tuple(members.get(gid, ()))))
        return out

    def grouping_stamp(self) -> tuple[int, dict[str, Any] | None]:
        """(the groups' generation, the thresholds of the last regrouping or None): one row, read at will by a window
        that wants to know whether the groups changed elsewhere."""
        row = self._db.execute("SELECT generation, thresholds FROM grouping_stamp WHERE id = 1").fetchone()
        if row is None:
            return 0, None
        try:
            thresholds = json.loads(row[1]) if row[1] else None
        except ValueError:
            thresholds = None
        return int(row[0]), thresholds if isinstance(thresholds, dict) else None

    def _groups_changed(self, thresholds: dict[str, Any] | None = None) -> None:
        """Inside a write: the groups changed (a regrouping made with `thresholds`, or the user's edit)."""
        if thresholds is None:
            self._db.execute("UPDATE grouping_stamp SET generation = generation + 1, made_at = ? WHERE id = 1",
                             (time.time(),))
        else:
            self._db.execute("UPDATE grouping_stamp SET generation = generation + 1, thresholds = ?, made_at = ? "
                             "WHERE id = 1", (json.dumps(thresholds, sort_keys=True), time.time()))

    def replace_auto_groups(self, photo_ids: Sequence[int], groups: Sequence[tuple[str, Sequence[int]]],
                            thresholds: dict[str, Any] | None = None) -> None:
        """Store a fresh automatic grouping of `photo_ids`, atomically. Photos in a group the user edited keep
        it (their ids in `groups` are ignored); an old automatic group's id lives on in the new group that
        took most of its members, so a regrouping that changes nothing renumbers nothing. `thresholds` (what
        grouping was asked with) are kept with the grouping stamp."""
        now = time.time()
        with self.transaction() as db:
            self._groups_changed(thresholds)
            old = {g.id: g for g in self.groups(photo_ids)}
            pinned = {pid for g in old.values() if g.manual for pid in g.photo_ids}
            previous = {pid: g.id for g in old.values() if not g.manual for pid in g.photo_ids}
            todo = [pid for pid in photo_ids if pid not in pinned]
            for chunk in _chunks(todo, 500):
                db.execute(f"DELETE FROM group_members WHERE photo_id IN ({','.join('?' * len(chunk))})", chunk)
            taken: set[int] = set()
            for kind, members in groups:
                if kind not in GROUP_KINDS:
                    raise ValueError(f"group kind must be one of {GROUP_KINDS}, not {kind!r}")
                free = [pid for pid in members if pid not in pinned]
                if not free:
                    continue
                votes: dict[int, int] = {}
                for pid in free:
                    if pid in previous and previous[pid] not in taken:
                        votes[previous[pid]] = votes.get(previous[pid], 0) + 1
                reuse = max(votes, key=lambda g: (votes[g], -g)) if votes else None
                if reuse is not None:
                    taken.add(reuse)
                    db.execute("UPDATE photo_groups SET kind = ?, made_at = ? WHERE id = ?", (kind, now, reuse))
                    gid = reuse
                else:
                    cur = db.execute("INSERT INTO photo_groups (kind, manual, made_at) VALUES (?, 0, ?)", (kind, now))
                    assert cur.lastrowid is not None
                    gid = int(cur.lastrowid)
                db.executemany("INSERT INTO group_members (photo_id, group_id) VALUES (?, ?)",
                               [(pid, gid) for pid in free])
            self._drop_empty_groups()

    def _drop_empty_groups(self) -> None:
        self._db.execute("DELETE FROM photo_groups WHERE id NOT IN (SELECT group_id FROM group_members)")

    def _pin(self, group_id: int, kind: str | None = None) -> None:
        """A group the user edited becomes theirs: grouping leaves it and its members alone from now on."""
        self._db.execute("UPDATE photo_groups SET manual = 1, kind = COALESCE(?, kind) WHERE id = ?", (kind, group_id))

    def _member_count(self, group_id: int) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM group_members WHERE group_id = ?", (group_id,)).fetchone()[0])

    def _settle_kind(self, group_id: int) -> None:
        if self._member_count(group_id) == 1:
            self._db.execute("UPDATE photo_groups SET kind = 'single' WHERE id = ?", (group_id,))

    def _group_of(self, photo_id: int) -> int | None:
        row = self._db.execute("SELECT group_id FROM group_members WHERE photo_id = ?", (photo_id,)).fetchone()
        return None if row is None else int(row[0])

    def split_group(self, group_id: int, photo_ids: Iterable[int]) -> int:
        """The user's edit: `photo_ids` leave `group_id` for a new group of their own (returned); both groups
        are the user's from now on."""
        wanted = set(photo_ids)
        with self.transaction() as db:
            group = self.group(group_id)
            if group is None:
                raise ValueError(f"no group {group_id}")
            leaving = [pid for pid in group.photo_ids if pid in wanted]
            if not leaving or len(leaving) == len(group.photo_ids):
                raise ValueError("a split leaves some photos in the group and takes some out")
            kind = "single" if len(leaving) == 1 else group.kind
            cur = db.execute("INSERT INTO photo_groups (kind, manual, made_at) VALUES (?, 1, ?)", (kind, time.time()))
            assert cur.lastrowid is not None
            new_id = int(cur.lastrowid)
            db.executemany("UPDATE group_members SET group_id = ? WHERE photo_id = ?", [(new_id, p) for p in leaving])
            self._pin(group_id)
            self._settle_kind(group_id)
            self._groups_changed()
        return new_id

    def merge_groups(self, group_ids: Sequence[int]) -> int:
        """The user's edit: the groups become one (the first of `group_ids`, returned), theirs from now on.
        Its kind is the first group's, or `burst` when that one was a single."""
        if not group_ids:
            raise ValueError("nothing to merge")
        target = group_ids[0]
        with self.transaction() as db:
            first = self.group(target)
            if first is None:
                raise ValueError(f"no group {target}")
            for gid in group_ids[1:]:
                if gid != target:
                    db.execute("UPDATE group_members SET group_id = ? WHERE group_id = ?", (target, gid))
            kind = "burst" if first.kind == "single" and self._member_count(target) > 1 else None
            self._pin(target, kind)
            self._drop_empty_groups()
            self._groups_changed()
        return target

    def move_to_group(self, photo_id: int, group_id: int | None) -> int:
        """The user's edit: the photo joins `group_id` (None: a new group of its own); returns its group. The
        group it left and the one it joined are the user's from now on."""
        with self.transaction() as db:
            source = self._group_of(photo_id)
            if group_id is None:
                cur = db.execute("INSERT INTO photo_groups (kind, manual, made_at) VALUES ('single', 1, ?)",
                                 (time.time(),))
                assert cur.lastrowid is not None
                group_id = int(cur.lastrowid)
            elif self.group(group_id) is None:
                raise ValueError(f"no group {group_id}")
            db.execute("INSERT OR REPLACE INTO group_members (photo_id, group_id) VALUES (?, ?)", (photo_id, group_id))
            kind = "burst" if self.group(group_id) is not None and self._kind(group_id) == "single" else None
            self._pin(group_id, kind if self._member_count(group_id) > 1 else None)
            if source is not None and source != group_id:
                self._pin(source)
                self._settle_kind(source)
            self._drop_empty_groups()
            self._groups_changed()
        return group_id

    def restore_groups(self, photo_ids: Iterable[int], groups: Sequence[StoredGroup]) -> None:
        """Put `photo_ids` back into exactly `groups` (each with its kind, whether the user made it, its members;
        a photo of `photo_ids` in none of them is left in no group): the undo and redo of a split or a merge
        (core/culling/history.py). A group keeps its id unless that id now belongs to photos outside `photo_ids`."""
        touched = set(photo_ids) | {pid for g in groups for pid in g.photo_ids}
        with self.transaction() as db:
            ids = sorted(touched)
            present: set[int] = set()  # a photo deleted from the catalog since is left out
            for chunk in _chunks(ids, 500):
                marks = ",".join("?" * len(chunk))
                db.execute(f"DELETE FROM group_members WHERE photo_id IN ({marks})", chunk)
                present.update(r[0] for r in db.execute(f"SELECT id FROM photos WHERE id IN ({marks})", chunk))
            for g in groups:
                members = [pid for pid in g.photo_ids if pid in present]
                if not members:
                    continue
                taken = db.execute("SELECT 1 FROM group_members WHERE group_id = ? LIMIT 1", (g.id,)).fetchone()
                if taken is None:
                    db.execute("INSERT OR REPLACE INTO photo_groups (id, kind, manual, made_at) VALUES (?, ?, ?, ?)",
                               (g.id, g.kind, int(g.manual), time.time()))
                    gid = g.id
                else:
                    cur = db.execute("INSERT INTO photo_groups (kind, manual, made_at) VALUES (?, ?, ?)",
                                     (g.kind, int(g.manual), time.time()))
                    assert cur.lastrowid is not None
                    gid = int(cur.lastrowid)
                db.executemany("INSERT INTO group_members (photo_id, group_id) VALUES (?, ?)",
                               [(pid, gid) for pid in members])
            self._drop_empty_groups()
            self._groups_changed()

    def _kind(self, group_id: int) -> str:
        return str(self._db.execute("SELECT kind FROM photo_groups WHERE id = ?", (group_id,)).fetchone()[0])


def _crop_score(crop_json: str | None, accepted: tuple[Box, float] | None) -> float | None:
    """The accepted crop's stored score, if it was stored for the crop the photo has now."""
    if not crop_json or accepted is None:
        return None
    crop = json.loads(crop_json)
    return accepted[1] if all(abs(a - b) <= 0.5 for a, b in zip(crop, accepted[0], strict=True)) else None


def _signature_blob(sig: np.ndarray) -> tuple[bytes, int]:
    a = np.ascontiguousarray(sig, np.uint8)
    return a.tobytes(), int(a.shape[1])


@contextmanager
def _no_collections() -> Iterator[None]:
    """The cyclic garbage collector paused while a bulk read builds objects that hold no reference cycles (rows,
    photos, faces): every 700 new objects it would run, and its full passes walk every object alive. Their
    reference counts still free them; the collector runs again afterwards (unless it was off already)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _chunks(items: list[int], n: int) -> Iterator[list[int]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def _split_sql(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
