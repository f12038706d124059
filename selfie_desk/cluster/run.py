"""The cluster pass: index here, send batches of photos (paths, not bytes) to Ray actors that decode and
score them from shared storage, and commit each batch's results to the catalog here as it comes back.

What runs on a worker is the local pass's own code (pipeline.prepare and pipeline.batch_results), so the results
are the same; what is written (the catalog, the thumbnail cache) is written by this process alone, through
the same `Catalog.record` and `thumbnails.save` as the local pass. A batch is committed in one transaction
when it returns: a lost worker loses only the batches it held (they are sent again, to its restarted self),
and a killed driver loses only the batches in flight (a re-run indexes, finds them unscored and sends them).

Ray is imported inside the functions that need it: without the `cluster` extra the module still imports
and `--cluster` says what to install.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from selfie_desk.core.formats import decoding
from selfie_desk.core.formats.indexing import Todo
from selfie_desk.core.storage import thumbnails
from selfie_desk.core.storage.catalog import Catalog, Result

DEFAULT_PORT = 6379  # `ray start --head`'s GCS port
CLIENT_PORT = 10001  # Ray Client's (ray://host)
CONNECT_TIMEOUT_S = 5.0
BATCHES_PER_WORKER = 2  # in flight per actor: one scoring, one queued, so a worker never waits for the driver
MIN_TAIL_BATCH = 4  # the last batches shrink to this (`batches`)
RESTART_WAIT_S = 180.0  # a worker that has not come back (model loaded) by then is given up on
SHUTDOWN_WAIT_S = 15.0  # for a local cluster's processes to exit after ray.shutdown, before they are killed
TRIES = 3  # a batch whose worker died is sent again; after that its photos go one by one, then are failures


class ClusterError(Exception):
    """The cluster cannot be started, reached or joined; the message is for the user, one line."""


PathMap = Sequence[tuple[str, str]]


def parse_path_map(specs: Iterable[str]) -> list[tuple[str, str]]:
    """`LOCAL=REMOTE` pairs, the longest LOCAL first (so /mnt/a/b wins over /mnt/a). ValueError if malformed."""
    pairs = []
    for spec in specs:
        local, sep, remote = spec.partition("=")
        if not sep or not local or not remote:
            raise ValueError(f"--path-map wants LOCAL=REMOTE, got {spec!r}")
        pairs.append((local.rstrip("/") or "/", remote.rstrip("/") or "/"))
    return sorted(pairs, key=lambda p: len(p[0]), reverse=True)


def remap(path: str, mapping: PathMap) -> str:
    """`path` as the workers see it: the first LOCAL prefix (whole path components) replaced by its REMOTE."""
    for local, remote in mapping:
        if local == "/":
            return remote.rstrip("/") + path
        if path == local or path.startswith(local + "/"):
            return remote + path[len(local):]
    return path


def _host_port(address: str) -> tuple[str, int]:
    rest = address
    port = DEFAULT_PORT
    if rest.startswith("ray://"):
        rest, port = rest[len("ray://"):], CLIENT_PORT
    host, sep, p = rest.rpartition(":")
    if not sep:
        return rest, port
    try:
        return host.strip("[]"), int(p)
    except ValueError:
        raise ClusterError(f"--cluster: {address!r} is not auto, HOST:PORT or ray://HOST:PORT") from None


@dataclass
class Connection:
    """A joined or started cluster; `close` leaves it (and stops it when this process started it)."""

    address: str
    started_here: bool
    cpus: int
    gpus: float
    _pool: tuple[Any, list[Any]] | None = None  # (what they were started for, the actors)

    def start_workers(self, model: str, device: str, path_map: PathMap = (), workers: int | None = None) -> list[Any]:
        """The worker actors for this model, device and path map, started now if they are not yet: they load
        the convnet in the background (seconds each), so the command starts them before it loads its own
        scorer and indexes. Kept for the next pass; another kind of worker replaces them (they hold the CPUs)."""
        n = max(1, workers or self.cpus or 1)
        key = (model, device, tuple(path_map), n)
        if self._pool is not None and self._pool[0] == key:
            return self._pool[1]
        self.drop_workers()
        gpu_each = min(1.0, self.gpus / n) if device != "cpu" and self.gpus > 0 else 0.0
        cls = _actor_class()
        actors = [cls.options(num_cpus=1, num_gpus=gpu_each).remote(model, device, list(path_map)) for _ in range(n)]
        self._pool = (key, actors)
        return actors

    def drop_workers(self) -> None:
        """Kill the worker actors (what they hold is lost with them: it was never committed)."""
        if self._pool is None:
            return
        import ray

        for actor in self._pool[1]:
            ray.kill(actor)
        self._pool = None

    def close(self) -> None:
        """Leave the cluster; a local one started here is stopped, and waited for: ray.shutdown returns before
        its processes have exited (a worker ~1 s later here), and a command that has ended leaves none running."""
        import ray

        self._pool = None  # the actors go with the driver's connection
        if not ray.is_initialized():
            return
        ours = _local_cluster_processes() if self.started_here else []
        ray.shutdown()
        if ours:
            import psutil  # Ray's own (it puts its copy on the path)

            _gone, alive = psutil.wait_procs(ours, timeout=SHUTDOWN_WAIT_S)
            for proc in alive:
                try:
                    proc.kill()
                except psutil.Error:
                    pass


def _local_cluster_processes() -> list[Any]:
    """This process's descendants: a local cluster's GCS, raylet, agents and workers (the workers are the
    raylet's children)."""
    import psutil

    try:
        return list(psutil.Process().children(recursive=True))
    except psutil.Error:
        return []


def connect(address: str, cpus: int | None = None, timeout_s: float = CONNECT_TIMEOUT_S) -> Connection:
    """`auto`: start a local cluster of `cpus` (default: every core); otherwise join the cluster at
    `address`, first checking in `timeout_s` that something listens there (Ray itself retries for a minute)."""
    try:
        import ray
    except ImportError:
        raise ClusterError("--cluster needs Ray: pip install 'selfie-desk[cluster]'") from None
    quiet = {"logging_level": logging.ERROR, "log_to_driver": False}
    if address == "auto":
        n = cpus or os.cpu_count() or 1
        # No runtime_env: the workers inherit this process's environment (SELFIE_DESK_HOME included) through the
        # raylet it starts, and an actor with a runtime_env cannot take one of the worker processes Ray starts
        # with the cluster: it waited 2.6-2.9 s for new ones (each importing Ray again) where it took 0.05-0.09
        try:
            ray.init(address="local", num_cpus=n, include_dashboard=False, object_store_memory=256 * 2**20,
                     **quiet)
        except Exception as exc:  # Ray's own errors: the message is the useful part
            raise ClusterError(f"cannot start a local Ray cluster: {exc}") from None
        started = True
    else:
        host, port = _host_port(address)
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                pass
        except OSError as exc:
            raise ClusterError(
                f"cannot reach the Ray cluster at {address} ({exc.strerror or exc}); start one with "
                f"`ray start --head` on that machine, or use --cluster auto") from None
        try:
            ray.init(address=address, **quiet)
        except Exception as exc:
            raise ClusterError(f"cannot join the Ray cluster at {address}: {exc}") from None
        started = False
    res = ray.cluster_resources()
    return Connection(address, started, int(res.get("CPU", 0)), float(res.get("GPU", 0)))


class Worker:
    """One Ray actor: loads the convnet once, then decodes and scores batches of photos read from shared
    storage. Made a Ray actor by `_actor_class` (Ray is not imported at module level)."""

    def __init__(self, model: str, device: str, path_map: PathMap, threads: int = 1) -> None:
        from selfie_desk.neural.runtime import make_scorer  # ONNX Runtime on a CPU node, torch on a GPU one

        self.scorer = make_scorer(model, device, threads=max(1, threads))
        self.path_map = list(path_map)

    def pid(self) -> int:
        return os.getpid()

    def run(self, todos: list[Todo]) -> tuple[list[Result], list[tuple[str, Any]]]:
        """The local pass on `todos`: (their results, errors included; (fingerprint, thumbnail) pairs)."""
        from selfie_desk.neural import pipeline

        prepared, errors = [], []
        for todo in todos:
            here = replace(todo, path=remap(todo.path, self.path_map),
                           pair=None if todo.pair is None else remap(todo.pair, self.path_map))
            try:
                p = pipeline.prepare(here, save_thumbnail=False)
            except decoding.PhotoError as exc:
                errors.append(Result(photo_id=todo.photo_id, error=str(exc)))
            except Exception as exc:  # one odd file must not end the scan (as in the local pass)
                errors.append(Result(photo_id=todo.photo_id, error=f"cannot process: {type(exc).__name__}: {exc}"))
            else:
                prepared.append(p)
        results = pipeline.batch_results(prepared, self.scorer) if prepared else []
        thumbs = [(p.todo.fingerprint, p.thumbnail) for p in prepared if p.thumbnail is not None]
        return results + errors, thumbs


def batches(todo: Sequence[Todo], size: int, workers: int) -> list[list[Todo]]:
    """`todo` in batches of `size` that shrink toward the end (guided self-scheduling): none larger than what
    is left shared among the workers' batches in flight, none under MIN_TAIL_BATCH (or `size`), so the workers
    finish together rather than one scoring a whole last batch while the others wait."""
    out: list[list[Todo]] = []
    i = 0
    while i < len(todo):
        share = -(-(len(todo) - i) // (BATCHES_PER_WORKER * max(1, workers)))
        n = min(size, max(MIN_TAIL_BATCH, share))
        out.append(list(todo[i:i + n]))
        i += n
    return out


def _actor_class() -> Any:
    import ray

    # Restarted by Ray when its process dies; a task it held fails here and is sent again (max_task_retries 0:
    # the driver decides, so a photo that kills its worker every time ends as that photo's error).
    return ray.remote(max_restarts=-1, max_task_retries=0)(Worker)


def score(
    targets: Iterable[Path],
    catalog: Catalog,
    scorer: Any,
    connection: Connection,
    *,
    workers: int | None = None,
    path_map: PathMap = (),
    progress: Callable[[Any], None] | None = None,
    cancel: threading.Event | None = None,
    batch_size: int = 16,
    device: str = "auto",
    thumbnail_root: Path | None = None,
    started: Callable[[list[Any]], None] | None = None,
    model: str | None = None,
) -> Any:
    """pipeline.score on the cluster: index and reuse stored embeddings here, score the rest on `workers`
    Ray actors (default: one per CPU of the cluster), commit each batch as it returns. Returns a
    pipeline.Summary. `started(actors)` is called once the actors exist (the tests kill one)."""
    import ray
    from ray.exceptions import RayActorError, WorkerCrashedError

    from selfie_desk.neural.pipeline import Tally

    cancel = cancel or threading.Event()
    todo, tally = Tally.begin(targets, catalog, scorer, cancel, progress)
    actors = connection.start_workers(model or scorer.model_name, device, path_map, workers) if todo else []
    queue: list[tuple[list[Todo], int]] = [(b, 0) for b in batches(todo, batch_size, len(actors))]
    queue.reverse()  # popped from the end: in order
    if started is not None and actors:
        started(actors)
    in_flight: dict[Any, tuple[int, list[Todo], int]] = {}  # ref -> (actor index, batch, tries)
    load = [0] * len(actors)
    # A worker whose task died is being restarted by Ray: it gets no work until it answers a ping, so the
    # batches it lost go to the others (or wait for it) instead of failing again on a half-started actor.
    pings: dict[Any, tuple[int, float]] = {}  # ping ref -> (actor index, when it went down)
    down: set[int] = set()

    def feed() -> None:
        for a in range(len(actors)):
            while a not in down and load[a] < BATCHES_PER_WORKER and queue and not cancel.is_set():
                batch, tries = queue.pop()
                in_flight[actors[a].run.remote(batch)] = (a, batch, tries)
                load[a] += 1

    def ping(a: int, since: float) -> None:
        down.add(a)
        if time.monotonic() - since > RESTART_WAIT_S:
            return  # given up on: its work goes to the others; with none left, the loop ends
        pings[actors[a].pid.remote()] = (a, since)

    def commit(results: list[Result], thumbs: list[tuple[str, Any]]) -> None:
        for fingerprint, image in thumbs:
            try:
                thumbnails.save(fingerprint, image, thumbnail_root)
            except OSError:
                pass  # as in the local pass: a full or read-only cache must not stop scoring
        catalog.record(results, scorer.model_name, scorer.info.id)
        tally.recorded(results)
        tally.failed += sum(r.error is not None for r in results)

    def lost(batch: list[Todo], tries: int, exc: Exception) -> None:
        if tries + 1 < TRIES:
            queue.append((batch, tries + 1))
        elif len(batch) > 1:  # the third time: one by one, so only a photo that kills its worker fails
            queue.extend(([t], tries + 1) for t in reversed(batch))
        else:
            why = (getattr(exc, "error_msg", None) or type(exc).__name__).splitlines()[0]
            commit([Result(photo_id=batch[0].photo_id, error=f"cannot process: its worker died {TRIES} times ({why})")],
                   [])

    finished = False
    try:
        feed()
        while (in_flight or (queue and pings)) and not cancel.is_set():
            ready, _ = ray.wait(list(in_flight) + list(pings), num_returns=1, timeout=0.2)
            for ref in ready:
                if ref in pings:
                    a, since = pings.pop(ref)
                    try:
                        ray.get(ref)
                        down.discard(a)
                    except (RayActorError, WorkerCrashedError):
                        time.sleep(0.1)
                        ping(a, since)
                    continue
                a, batch, tries = in_flight.pop(ref)
                load[a] -= 1
                try:
                    results, thumbs = ray.get(ref)
                except (RayActorError, WorkerCrashedError) as exc:
                    lost(batch, tries, exc)
                    if a not in down:
                        ping(a, time.monotonic())
                    continue
                commit(results, thumbs)
                tally.tell(batch[-1].path)
            feed()
        if queue and not cancel.is_set():
            raise ClusterError(f"every worker died; {sum(len(b) for b, _ in queue)} photos not scored (run again)")
        finished = not cancel.is_set()
    finally:
        if not finished:  # interrupted: they may still be working on batches nobody will commit
            connection.drop_workers()
    return tally.summary(cancel.is_set())
