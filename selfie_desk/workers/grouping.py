"""Grouping a folder's photos of one moment in the background (core/culling/groups.py), after a scan or with other
thresholds, and previewing how many groups a threshold would make.

Grouping reads every photo's stored embedding and signature (catalog 8): one to two seconds for 10,000 photos
taken within one minute, a read of the whole folder's features that the window must not wait on; reading the
stored groups back ranked (on opening a folder, after the user splits or merges) costs about half a second for
10,000 photos (docs/benchmarks.md), so it runs here too. The thread keeps the folder's shots (what grouping reads)
between previews, so dragging a threshold regroups from memory; a regrouping reads them afresh (a scan may
have changed them). The ranked groups come back with the photos, so the window shows them as they are stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selfie_desk.core.culling.groups import (
    GroupIndex,
    GroupingParams,
    count_groups,
    group_shots,
    ranked_groups,
    regroup,
    shots_from_catalog,
)
from selfie_desk.core.culling.people import KeyPeople
from selfie_desk.workers.service import Job, Service


@dataclass(frozen=True)
class GroupingRequest:
    folder: Path  # canonical
    model: str
    params: GroupingParams = field(default_factory=GroupingParams)
    preview: bool = False  # only count the groups these thresholds make; store nothing
    rank_only: bool = False  # read the stored groups ranked (on opening a folder, after the user's edit)


@dataclass(frozen=True)
class GroupingOutcome:
    groups: int = 0  # groups of two or more photos
    grouped: int = 0  # photos in them
    bursts: int = 0  # groups of two or more that are bursts
    photos: list[Any] | None = None  # the folder's Photos with their group ids (not for a preview)
    ranked: list[Any] | None = None  # their RankedGroups
    index: GroupIndex | None = None  # the same, by photo, with every photo's badges worked out here
    regrouped: bool = False  # grouped afresh (else: the stored groups read back)
    generation: int | None = None  # the catalog's grouping stamp when the groups were read (ui/grouping_watch.py)
    cancelled: bool = False
    error: str | None = None


class GroupingService(Service):
    thread_name = "grouping"

    def __init__(self, catalog_path: Path, parent=None) -> None:
        super().__init__(catalog_path, parent)
        self._shots: tuple[str, list[Any]] | None = None  # (folder, shots): the thread's only

    def start(self, folder: Path, model: str, params: GroupingParams, preview: bool = False) -> Job:
        return self.submit(GroupingRequest(folder, model, params, preview))

    def rank(self, folder: Path, model: str) -> Job:
        """The folder's stored groups, ranked, without grouping again."""
        return self.submit(GroupingRequest(folder, model, rank_only=True), urgent=True)

    def error_outcome(self, job: Job, message: str) -> GroupingOutcome:
        return GroupingOutcome(error=f"Grouping stopped: {message}")

    def release(self) -> None:
        self._shots = None

    def handle(self, job: Job) -> GroupingOutcome:
        req: GroupingRequest = job.request
        if job.cancelled:
            return GroupingOutcome(cancelled=True)
        catalog = self.catalog.get()
        folder = str(req.folder)
        if req.preview:
            if self._shots is None or self._shots[0] != folder:
                ids = [p.id for p in catalog.photos(req.model, folder=folder)]
                self._shots = (folder, shots_from_catalog(catalog, ids))
            n, grouped, bursts = count_groups(group_shots(self._shots[1], req.params))
            return GroupingOutcome(groups=n, grouped=grouped, bursts=bursts)
        generation = catalog.grouping_stamp()[0]  # read before the groups: a change after it is seen by the next poll
        if not req.rank_only:
            self._shots = None
            # the ids only while grouping runs: the photos read afresh after it (at 50,000 photos, holding the
            # first reading through it kept ~200 MB more at the peak, beside the window's own)
            regroup(catalog, [p.id for p in catalog.photos(req.model, folder=folder)], req.params)
            if job.cancelled:  # stored already; the window has moved on
                return GroupingOutcome(cancelled=True)
            generation = catalog.grouping_stamp()[0]
        photos = catalog.photos(req.model, folder=folder)
        people = KeyPeople(photos)  # who recurs, which faces matter: ranks the groups, fills the People panel
        ranked = ranked_groups(catalog, photos, people)
        index = GroupIndex(ranked, people)
        for p in photos:
            index.badges(p)  # kept by the index: the window's grid reads them at once
        stacks = [g for g in ranked if len(g.members) > 1]
        return GroupingOutcome(groups=len(stacks), grouped=sum(len(g.members) for g in stacks),
                               bursts=sum(g.kind == "burst" for g in stacks), photos=photos, ranked=ranked,
                               index=index, regrouped=not req.rank_only, generation=generation)
