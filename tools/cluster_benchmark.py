"""The cluster pass's rate against the local pass's on the same folder, in one run, interleaved:
local, Ray with 2 worker processes, Ray with 1, local, ... (the machine is shared: only pairs taken
side by side compare). Each pass gets a fresh catalog and thumbnail cache over the same synthetic 12 MP JPEGs.

    .venv/bin/python tools/cluster_benchmark.py [--photos 40] [--pairs 3] [--batch 16] [--json]
    .venv/bin/python tools/cluster_benchmark.py --commands [--folder DIR] [--base CHECKOUT] [--pairs 3]

The local Ray cluster (every core) is started once before the timing, as a real cluster is (its start is
reported on its own). ray2 and ray1 start fresh worker actors at the pass's start (what one
`score --cluster` pays: each loads the convnet); ray2warm reuses ray2's (a long-lived driver, or the hours of an
archive where that start is nothing). Two rates per pass: end to end (index + everything) and steady (first
commit to last).

`--commands` times what a user runs, each time a new process: `selfie-desk score FOLDER --json` (local) and
`selfie-desk score FOLDER --cluster auto --json` (ray), interleaved, each with a fresh SELFIE_DESK_HOME and
RAY_TMPDIR, from the command's start to its exit (Python's start, imports, Ray's start and stop, the models
loading, indexing, scoring). `--base CHECKOUT` adds the cluster command of another checkout run with this venv
(PYTHONPATH=CHECKOUT; e.g. `git worktree add --detach /tmp/base main`) after each pair.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_pass(kind: str, folder: Path, scorer, connection, batch: int, work: Path) -> dict:
    from selfie_desk.cluster import run as cluster_run
    from selfie_desk.core.storage.catalog import Catalog
    from selfie_desk.neural import pipeline

    stamp = f"{kind}-{time.monotonic_ns()}"
    commits: list[tuple[float, int]] = []

    def seen(p) -> None:
        commits.append((time.perf_counter(), p.done))

    with Catalog(work / f"{stamp}.db") as catalog:
        start = time.perf_counter()
        if kind == "local":
            summary = pipeline.score([folder], catalog, scorer, batch_size=batch, progress=seen,
                                     thumbnail_root=work / stamp)
        else:
            if kind != "ray2warm":
                connection.drop_workers()  # fresh actors, started at the pass's start, as one command's are
            summary = cluster_run.score([folder], catalog, scorer, connection, workers=int(kind[3]),
                                        batch_size=batch, device="cpu", progress=seen, thumbnail_root=work / stamp)
        total = time.perf_counter() - start
    n = summary.scored
    assert n == len(list(folder.glob("*.jpg"))) and summary.failed == 0, summary
    done = [(t, d) for t, d in commits if d > 0]
    steady = (done[-1][1] - done[0][1]) / (done[-1][0] - done[0][0]) if len(done) > 1 else float("nan")
    return {"kind": kind, "photos": n, "seconds": round(total, 2), "rate": round(n / total, 2),
            "steady_rate": round(steady, 2), "first_commit_s": round(done[0][0] - start, 2)}


def one_command(kind: str, folder: Path, work: Path, base: Path | None) -> dict:
    """One fresh `score` command of `kind` (local, ray, base-ray) over `folder`, timed from start to exit."""
    stamp = f"{kind}-{time.monotonic_ns()}"
    home = work / stamp
    ray_tmp = Path(tempfile.mkdtemp(prefix="cb-", dir="/tmp"))  # short: Ray's socket paths must fit 107 bytes
    env = {**os.environ, "SELFIE_DESK_HOME": str(home), "RAY_TMPDIR": str(ray_tmp)}
    if kind == "base-ray":
        env["PYTHONPATH"] = str(base)
    cmd = [sys.executable, "-m", "selfie_desk", "score", str(folder), "--json"]
    if kind != "local":
        cmd += ["--cluster", "auto"]
    load = os.getloadavg()[0]
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=base if kind == "base-ray" else ROOT)
    seconds = time.perf_counter() - start
    import shutil

    shutil.rmtree(ray_tmp, ignore_errors=True)
    shutil.rmtree(home, ignore_errors=True)
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    n = sum(r["score"] is not None for r in rows)
    assert done.returncode == 0 and n == len(rows) > 0, (kind, done.returncode, done.stderr[-2000:])
    return {"kind": kind, "photos": n, "seconds": round(seconds, 2), "rate": round(n / seconds, 2),
            "load_before": round(load, 1), "load_after": round(os.getloadavg()[0], 1)}


def commands(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="cluster-cmds-"))
    folder = args.folder
    if folder is None:
        from benchmark import make_photos

        folder = (args.work or work) / "photos"
        make_photos(folder, args.photos)
    kinds = ["local", "ray"] + (["base-ray"] if args.base else [])
    runs = []
    for _ in range(args.pairs):
        for kind in kinds:
            runs.append(one_command(kind, folder, work, args.base))
            print(json.dumps(runs[-1]), file=sys.stderr, flush=True)
    rounds = [{r["kind"]: r for r in runs[i * len(kinds):(i + 1) * len(kinds)]} for i in range(args.pairs)]
    ratios = {f"{k}_vs_local": [round(p[k]["rate"] / p["local"]["rate"], 3) for p in rounds] for k in kinds[1:]}
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    base_commit = subprocess.run(["git", "-C", str(args.base), "rev-parse", "--short", "HEAD"], capture_output=True,
                                 text=True).stdout.strip() if args.base else None
    report = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "commit": commit, "base": base_commit,
              "folder": str(folder), "photos": runs[0]["photos"], "runs": runs, "ratios": ratios,
              "median_rate": {k: statistics.median(r["rate"] for r in runs if r["kind"] == k) for k in kinds}}
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print(f"{report['photos']} photos, fresh commands, {report['machine']}, commit {commit}"
              + (f", base {base_commit}" if base_commit else ""))
        for r in runs:
            print(f"{r['kind']:>9}  {r['seconds']:7.1f} s  {r['rate']:6.2f} photos/s  load {r['load_before']}"
                  f"-{r['load_after']}")
        for name, values in ratios.items():
            print(f"{name}: {values}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=40)
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--work", type=Path, default=None, help="a folder to keep the photos in between runs")
    ap.add_argument("--commands", action="store_true", help="time fresh `score` commands, local against --cluster")
    ap.add_argument("--folder", type=Path, default=None, help="with --commands: these photos, not --photos made ones")
    ap.add_argument("--base", type=Path, default=None, help="with --commands: another checkout's cluster command too")
    args = ap.parse_args()
    if args.commands:
        return commands(args)

    work = Path(tempfile.mkdtemp(prefix="cluster-bench-", dir=args.work))
    os.environ["SELFIE_DESK_HOME"] = str(work / "home")  # nothing of the user's is touched
    from benchmark import make_photos

    from selfie_desk.cluster import run as cluster_run
    from selfie_desk.neural.model import Scorer

    folder = (args.work or work) / "photos"
    make_photos(folder, args.photos)
    scorer = Scorer(device="cpu")
    t0 = time.perf_counter()
    connection = cluster_run.connect("auto")
    cluster_start = time.perf_counter() - t0
    kinds = ["local", "ray2", "ray2warm", "ray1"]
    runs = []
    try:
        for _ in range(args.pairs):
            for kind in kinds:
                r = one_pass(kind, folder, scorer, connection, args.batch, work)
                runs.append(r)
                print(json.dumps(r), file=sys.stderr, flush=True)
    finally:
        connection.close()

    def med(kind: str, key: str) -> float:
        return statistics.median(r[key] for r in runs if r["kind"] == kind)

    per_pair = [
        {k: runs[i * len(kinds) + j] for j, k in enumerate(kinds)} for i in range(args.pairs)
    ]
    ratios = {
        "ray2_vs_local": [round(p["ray2"]["rate"] / p["local"]["rate"], 3) for p in per_pair],
        "ray2_vs_local_steady": [round(p["ray2"]["steady_rate"] / p["local"]["steady_rate"], 3) for p in per_pair],
        "ray2warm_vs_local": [round(p["ray2warm"]["rate"] / p["local"]["rate"], 3) for p in per_pair],
        "ray2_vs_ray1": [round(p["ray2"]["rate"] / p["ray1"]["rate"], 3) for p in per_pair],
        "ray2_vs_ray1_steady": [round(p["ray2"]["steady_rate"] / p["ray1"]["steady_rate"], 3) for p in per_pair],
    }
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, loaded by other work", "commit": commit,
        "photos": args.photos, "batch": args.batch, "cluster_start_s": round(cluster_start, 2),
        "median": {k: {"rate": med(k, "rate"), "steady_rate": med(k, "steady_rate"),
                       "first_commit_s": med(k, "first_commit_s")} for k in kinds},
        "ratios": ratios, "runs": runs,
    }
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print(f"{args.photos} photos of 12 MP, batch {args.batch}, {report['machine']}, commit {commit}; "
              f"local Ray cluster started in {cluster_start:.1f} s")
        print(f"{'pass':>6}  {'photos/s':>8}  {'steady':>7}  {'1st commit':>10}")
        for k in kinds:
            m = report["median"][k]
            print(f"{k:>6}  {m['rate']:8.2f}  {m['steady_rate']:7.2f}  {m['first_commit_s']:9.1f}s")
        for name, values in ratios.items():
            print(f"{name}: {values}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
