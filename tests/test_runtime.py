"""The CPU runtime (selfie_desk/neural/runtime): its graphs are the torch modules' (and fail here by name when a
network changed and was not exported again: `tools/export_onnx.py`), and on the bundled photos it gives torch's
scores (1e-3), faces (IoU >= 0.95), eye states, best crops (IoU >= 0.9) and groups; and the whole app's work
(score, crop, train a personal model, rescore, the attention map) runs in a process with no torch at all, as
the CPU installer does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import DEMO, save_jpeg
from PIL import Image

from selfie_desk.core import weights
from selfie_desk.core.crop.geometry import iou
from selfie_desk.neural.runtime import choose, graphs, statefile
from selfie_desk.neural.runtime.heads import ArrayHead, HeadTrainer, load_aspects, load_head

ROOT = Path(__file__).resolve().parents[1]
DEMO_FILES = sorted(p for p in DEMO.iterdir() if p.suffix in (".jpg", ".png"))


@pytest.fixture(scope="module")
def runtime_scorer():
    from selfie_desk.neural.runtime.scorer import RuntimeScorer

    return RuntimeScorer(device="cpu")


# ---- the graphs ------------------------------------------------------------------------------------------
def test_every_graph_is_recorded_with_its_digest():
    readme = (ROOT / "models" / "README.md").read_text()
    for graph in graphs.GRAPHS.values():
        path = weights.bundled_file(graph.file)  # raises when missing or not the recorded bytes
        digest = graphs.file_sha256(path)
        assert weights.BUNDLED[graph.file] == digest
        assert f"| `{graph.file}` |" in readme and f"`{digest}`" in readme, f"{graph.file}: run tools/export_onnx.py"


def test_graphs_were_exported_from_the_weights_in_the_tree():
    for graph in graphs.GRAPHS.values():
        recorded = graphs.Session(graph).metadata()
        for key, digest in graphs.source_digests(graph).items():
            assert recorded.get(key) == digest, (
                f"{graph.file} was exported from another {key.split(':', 1)[1]}: run tools/export_onnx.py")


@pytest.mark.slow
@pytest.mark.parametrize("name", list(graphs.GRAPHS))
def test_graph_agrees_with_its_torch_module(name):
    from selfie_desk.neural import export

    graph = graphs.GRAPHS[name]
    session = graphs.Session(graph)
    problems = export.disagreement(graph, lambda inputs: session.run(*inputs))
    assert not problems, "; ".join(problems) + " (run tools/export_onnx.py)"


def test_metadata_entries_append_to_any_model():
    proto = b"\x08\x07"  # ir_version = 7
    out = graphs.with_metadata(proto, {"a": "b" * 200})
    # field 14, length-delimited, holding key (1) "a" and value (2) of 200 bytes
    assert out.startswith(proto) and out[2] == 14 << 3 | 2 and b"\x0a\x01a\x12\xc8\x01" + b"b" * 200 in out


# ---- the heads and their files ---------------------------------------------------------------------------
def test_head_files_read_and_written_without_torch_are_torchs(tmp_path):
    import torch

    blob = statefile.load(weights.bundled_file("score_head.pt"))
    theirs = torch.load(weights.bundled_file("score_head.pt"), weights_only=True)
    assert blob["card"] == theirs["card"] and blob["sizes"] == theirs["sizes"]
    for part in ("state_dict", "aspects"):
        assert list(blob[part]) == list(theirs[part])
        for k, v in theirs[part].items():
            assert np.array_equal(blob[part][k], v.numpy()) and blob[part][k].shape == tuple(v.shape), k
    path = tmp_path / "again.pt"
    statefile.save(blob, path)
    again = torch.load(path, weights_only=True)
    assert again["card"] == theirs["card"]
    for k, v in theirs["state_dict"].items():
        assert torch.equal(again["state_dict"][k], v), k


def test_a_model_file_with_other_objects_is_refused(tmp_path):
    import pickle
    import zipfile

    path = tmp_path / "bad.pt"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("bad/data.pkl", pickle.dumps({"x": subprocess.Popen}, protocol=2))
        z.writestr("bad/byteorder", "little")
    with pytest.raises(pickle.UnpicklingError, match="not allowed"):
        statefile.load(path)


def _features(scorer) -> np.ndarray:
    return np.stack([s.embedding for s in scorer.score_images([Image.open(p) for p in DEMO_FILES])])


@pytest.mark.slow
def test_numpy_heads_are_torchs(scorer):
    import torch

    from selfie_desk.neural.model import load_aspects as torch_aspects
    from selfie_desk.neural.model import load_head as torch_head

    x = _features(scorer)
    head, info = load_head()
    theirs, their_info = torch_head()
    assert info.id == their_info.id
    with torch.inference_mode():
        t = torch.from_numpy(x)
        want = theirs.probability(t).numpy()
        quality = theirs.quality_logit(t).numpy()
        aspects = torch_aspects().aspects(t)
    assert np.allclose(head.probability(x), want, atol=1e-5)
    assert np.allclose(head.quality_logit(x), quality, atol=1e-4)
    mine = load_aspects().aspects(x)
    assert all(set(a) == set(b) for a, b in zip(mine, aspects, strict=True))  # the focus looks too
    assert all(abs(a[k] - b[k]) < 1e-5 for a, b in zip(mine, aspects, strict=True) for k in a)
    # version 3's parts: looks far outside the training photos' (clipped at STANDARD_CLIP sd), a subject's closed
    # eyes (the penalty), scores past the calibration map's ends (the rational tails)
    from selfie_desk.core.measures.embedding import CHECK_AT, EMBEDDING_DIM, FEATURE_DIM
    from selfie_desk.neural import model
    from selfie_desk.neural.runtime import heads

    assert heads.STANDARD_CLIP == model.STANDARD_CLIP and float(theirs.closed_penalty) < 0
    odd = np.repeat(x[:2], 3, axis=0)
    odd[0, EMBEDDING_DIM + 5] = 1e6  # one look 10^5 sd away
    odd[1, EMBEDDING_DIM:] = -1e6
    odd[2, CHECK_AT] = 1.0  # eyes closed
    odd[3, :EMBEDDING_DIM] *= 40  # far past the top of the map
    odd[4, :EMBEDDING_DIM] = 0
    odd[5, EMBEDDING_DIM:] = 1e6
    assert odd.shape[1] == FEATURE_DIM
    with torch.inference_mode():
        t = torch.from_numpy(odd)
        want_odd, their_aspects = theirs.probability(t).numpy(), torch_aspects().aspects(t)
        logits = theirs(t).numpy()
    assert np.allclose(head.logit(odd), logits, atol=1e-4, rtol=1e-5)
    assert np.allclose(head.probability(odd), want_odd, atol=1e-5)
    assert head.probability(odd)[2] < head.probability(x[:1])[0] - 0.01  # the closed eyes cost score
    assert all(abs(a[k] - b[k]) < 1e-5 for a, b in zip(load_aspects().aspects(odd), their_aspects, strict=True)
               for k in a)
    past = np.array([theirs.calib_x[0].item() - 3, theirs.calib_x[-1].item() + 3, theirs.calib_x[-1].item() + 30],
                    np.float32)
    with torch.inference_mode():
        tails = theirs.calibrate(torch.from_numpy(past)).numpy()
    assert np.allclose(head.calibrate(past), tails, atol=1e-6) and 0 < tails[0] and tails[2] < 1
    # the attention map's gradient
    pooled = torch.from_numpy(x[0, :1280].copy()).requires_grad_(True)
    theirs.content_logit(pooled[None]).sum().backward()
    assert np.allclose(head.content_gradient(x[0, :1280]), pooled.grad.numpy(), atol=1e-6, rtol=1e-4)


def test_a_head_with_other_layers_is_refused():
    head, _ = load_head()
    state = dict(head.state_dict()) | {"content.6.weight": np.zeros((1, 1), np.float32)}
    with pytest.raises(ValueError, match="content.6.weight"):
        ArrayHead(state)


def test_the_numpy_trainer_takes_torchs_gradients_and_steps():
    import torch

    from selfie_desk.neural.model import ScoreHead

    rng = np.random.default_rng(0)
    head, _ = load_head()
    head = head.copy()
    head.dropout = 0.0
    x = np.concatenate([np.abs(rng.normal(0.3, 0.5, (40, 1280))),
                        head.p["look_mean"] + head.p["look_std"] * rng.normal(0, 1, (40, head.p["look_mean"].size))],
                       axis=1).astype(np.float32)
    y = (rng.random(40) > 0.5).astype(np.float32)
    w = np.where(y > 0.5, 1.25, 0.8).astype(np.float32)
    torch_head = ScoreHead(hidden=head.hidden, qhidden=head.qhidden)
    torch_head.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in head.p.items()})
    torch_head.eval()
    opt = torch.optim.AdamW(torch_head.score_parameters(), lr=1e-3, weight_decay=1e-2)
    trainer = HeadTrainer(head)
    for _ in range(3):
        loss, grads = trainer.gradients(x, y, w, rng)
        logits = (torch_head(torch.from_numpy(x)) - torch_head.center) / torch_head.spread
        their = torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.from_numpy(y),
                                                                     weight=torch.from_numpy(w))
        opt.zero_grad()
        their.backward()
        assert abs(loss - float(their.detach())) < 1e-5
        params = dict(torch_head.named_parameters())
        for k in HeadTrainer.PARAMS:
            assert np.allclose(grads[k], params[k].grad.numpy(), atol=1e-7, rtol=1e-4), k
        opt.step()
        trainer.step(grads)
    # Adam divides each gradient by its own size: weights whose gradients are ~1e-9 (float32 rounding decides
    # their digits) move by up to a step (1e-3) either way; the others follow torch's to rounding
    for k in HeadTrainer.PARAMS:
        diff = np.abs(head.p[k] - dict(torch_head.named_parameters())[k].detach().numpy())
        assert diff.max() < 3e-5 and diff.mean() < 1e-7, k


# ---- agreement on the bundled photos ---------------------------------------------------------------------
@pytest.mark.slow
def test_runtime_scores_faces_and_eyes_are_torchs(scorer, runtime_scorer):
    images = [Image.open(p) for p in DEMO_FILES]
    theirs, mine = scorer.score_images(images), runtime_scorer.score_images(images)
    assert sum(len(s.faces) for s in theirs) >= 2  # the astronaut and the camera man
    for path, a, b in zip(DEMO_FILES, theirs, mine, strict=True):
        assert abs(a.score - b.score) <= 1e-3, path.name
        assert np.allclose(a.embedding, b.embedding, atol=1e-3, rtol=1e-3), path.name
        assert all(abs(a.aspects[k] - b.aspects[k]) <= 1e-3 for k in a.aspects), path.name
        assert len(a.faces) == len(b.faces), path.name
        for fa, fb in zip(a.faces, b.faces, strict=True):
            assert iou(np.array([fa.box]), np.array([fb.box]))[0, 0] >= 0.95, path.name
            assert abs(fa.confidence - fb.confidence) <= 1e-3
        assert [c.eyes for c in a.checks] == [c.eyes for c in b.checks], path.name
        for ca, cb in zip(a.checks, b.checks, strict=True):
            assert (ca.sharpness is None) == (cb.sharpness is None)
            assert ca.sharpness is None or abs(ca.sharpness - cb.sharpness) <= 1e-3
    attention = runtime_scorer.attention(images[0])
    assert np.allclose(attention, scorer.attention(images[0]), atol=1e-3)


@pytest.mark.slow
def test_the_composition_head_in_numpy_is_torchs(scorer, runtime_scorer):
    """The CPU runtime's composition head (its graph's reduced map, RoIAlign + RoDAlign and the layers in numpy)
    scores the crop search's own candidates of every demo photo as torch's CompositionHead does."""
    from selfie_desk.neural.crop_search import COMPOSITION_SIDE, CropSearch
    from selfie_desk.neural.runtime.composition import ArrayComposition

    theirs, mine = CropSearch(scorer), CropSearch(runtime_scorer)
    assert isinstance(mine.composer, ArrayComposition) and mine.composer.id == theirs.composer.id
    for path in DEMO_FILES:
        photo = theirs.prepare(path)
        square = np.asarray(photo.image.resize((COMPOSITION_SIDE,) * 2, Image.Resampling.BILINEAR, reducing_gap=2.0))
        _, their_map = scorer.composition_maps(theirs.composer, square, last=False)
        _, my_map = runtime_scorer.composition_maps(mine.composer, square, last=False)
        assert np.allclose(my_map, their_map.numpy(), atol=1e-4), path.name
        boxes = theirs.candidates(photo.width, photo.height, "free", photo.faces)[:, :4]
        unit = (boxes / [photo.width, photo.height, photo.width, photo.height]).astype(np.float32)
        unit = np.concatenate([unit, [[0, 0, 1, 1], [0.5, 0.5, 0.5001, 0.5001]]]).astype(np.float32)  # whole, tiny
        ratio = photo.width / photo.height
        want = theirs.composer.scores(their_map, unit, ratio)
        assert len(unit) > 100 and want.std() > 0.05
        assert np.allclose(mine.composer.scores(their_map.numpy(), unit, ratio), want, atol=2e-6), path.name
        assert np.allclose(mine.composer.scores(my_map, unit, ratio), want, atol=2e-5), path.name


@pytest.mark.slow
def test_runtime_best_crops_are_torchs(scorer, runtime_scorer):
    """The same proposals, to the pixel, on every demo photo for each kind of aspect (measured: scores within
    2e-7, composition within 3e-7)."""
    from selfie_desk.neural.crop_search import CropSearch

    theirs, mine = CropSearch(scorer), CropSearch(runtime_scorer)
    kept = cropped = 0
    for path in DEMO_FILES:
        for aspect in ("original", "1:1", "free", "4:5"):
            a, b = theirs.search_path(path, aspect, 2), mine.search_path(path, aspect, 2)
            where = (path.name, aspect)
            assert a.best.box == b.best.box and a.keep_whole == b.keep_whole, where
            assert [c.box for c in a.alternatives] == [c.box for c in b.alternatives], where
            assert abs(a.best.score - b.best.score) <= 1e-5 and abs(a.whole_score - b.whole_score) <= 1e-5, where
            assert abs(a.best.composition - b.best.composition) <= 1e-5, where
            assert all(abs(x.score - y.score) <= 1e-5 for x, y in zip(a.alternatives, b.alternatives, strict=True))
            kept += a.keep_whole
            cropped += not a.keep_whole
    assert kept >= 3 and cropped >= 3  # both outcomes of the composition head's ranking were compared


@pytest.mark.slow
def test_closed_eyes_rescore_the_same_in_both_runtimes(scorer, runtime_scorer):
    """`finish` (the faces' checks into the embedding, the photo scored again) gives the same embedding and score
    in both runtimes, and a subject's closed eyes lower it."""
    from selfie_desk.core.measures.eyes import EyeState
    from selfie_desk.core.measures.face_check import FaceCheck

    image = [Image.open(DEMO / "astronaut.png")]
    theirs, mine = scorer.score_images(image)[0], runtime_scorer.score_images(image)[0]
    assert theirs.faces and len(theirs.faces) == len(mine.faces)
    closed = [[FaceCheck(EyeState.CLOSED, 0.9) for _ in theirs.faces]]
    a, b = scorer.finish([theirs], closed)[0], runtime_scorer.finish([mine], closed)[0]
    assert a.score < theirs.score - 0.01 and abs(a.score - b.score) <= 1e-5
    assert np.allclose(a.embedding, b.embedding, atol=1e-3) and a.checks == b.checks == closed[0]


@pytest.mark.slow
def test_runtime_groups_are_torchs(scorer, runtime_scorer, tmp_path):
    from selfie_desk.core.culling.groups import regroup
    from selfie_desk.core.storage.catalog import Catalog
    from selfie_desk.neural import pipeline

    folder = tmp_path / "shots"
    for k, path in enumerate(DEMO_FILES):
        im = Image.open(path).convert("RGB")
        frames = 3 if k % 2 == 0 else 1  # bursts of three (the frame moving a few pixels), and singles
        for f in range(frames):
            frame = im.crop((4 * f, 2 * f, im.width - 8 + 4 * f, im.height - 4 + 2 * f))
            save_jpeg(folder / f"{path.stem}-{f}.jpg", frame, taken=f"2026:05:0{k + 1} 10:00:0{f}")
    partitions = []
    for name, s in (("torch", scorer), ("onnx", runtime_scorer)):
        with Catalog(tmp_path / f"{name}.sqlite3") as catalog:
            pipeline.score([folder], catalog, s)
            photos = catalog.photos("default", folder=str(folder.resolve()))
            by_id = {p.id: Path(p.path).name for p in photos}
            groups = regroup(catalog, list(by_id))
            partitions.append(sorted(sorted(by_id[i] for i in g.ids) for g in groups))
    assert partitions[0] == partitions[1]
    assert sum(len(g) == 3 for g in partitions[0]) == 4  # the bursts were found at all


# ---- the CPU build: no torch -----------------------------------------------------------------------------
NO_TORCH = """
import importlib.abc, sys
class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "torchvision"):
            raise ModuleNotFoundError(f"No module named {name!r} (the CPU build has no torch)")
sys.meta_path.insert(0, NoTorch())
"""

TORCH_FREE_WORK = NO_TORCH + """
import json
from pathlib import Path
import numpy as np
sys.path.insert(0, sys.argv[3])
from taste_data import make_taste_folder
from selfie_desk.core import paths
from selfie_desk.core.storage.catalog import Catalog
from selfie_desk.core.culling.session import CullingSession
from selfie_desk.neural import pipeline, rescore, taste
from selfie_desk.neural.crop_search import CropSearch
from selfie_desk.neural.runtime import make_scorer
from PIL import Image

folder = Path(sys.argv[1])
truth = make_taste_folder(folder, per_source=3)
scorer = make_scorer("default", "auto")
out = {"label": scorer.label, "runtime": scorer.runtime}
with Catalog(paths.catalog_path()) as catalog:
    summary = pipeline.score([folder], catalog, scorer)
    out["scored"] = summary.scored
    CullingSession(catalog).adopt([(p.id, "decision", "keep" if truth[Path(p.path).name] else "reject")
                                   for p in catalog.photos("default", folder=str(folder.resolve()))])
    labels, _ = taste.labels_from_catalog(catalog)
    result = taste.train(catalog, labels, "bw", holdout=0.0, epochs=60)
    taste.save_model(result)
    out["rescored"] = rescore.rescore(catalog, "bw")
    scores = {Path(p.path).name: p.score for p in catalog.photos("bw", folder=str(folder.resolve()))}
    out["auc"] = taste.pairwise_auc(np.array(list(scores.values())), np.array([truth[n] for n in scores]))
search = CropSearch(make_scorer("bw", "cpu"))
crop = search.search_path(Path(sys.argv[2]), "1:1", 1)
out["crop"] = list(crop.best.box)
out["composer"] = type(search.composer).__name__
out["composition"] = crop.best.composition
out["attention"] = make_scorer("default", "cpu").attention(Image.open(sys.argv[2])).shape
out["torch"] = "torch" in sys.modules
print(json.dumps(out))
"""


@pytest.mark.slow
def test_scoring_cropping_and_training_need_no_torch(tmp_path):
    run = subprocess.run([sys.executable, "-c", TORCH_FREE_WORK, str(tmp_path / "photos"), str(DEMO / "chelsea.png"),
                          str(ROOT / "tests")], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["torch"] is False and out["runtime"] == "onnx" and "ONNX Runtime" in out["label"]
    assert out["scored"] == 36 and out["rescored"] == 36
    assert out["auc"] >= 0.9  # the personal model, trained in numpy, learned the black-and-white taste
    x0, y0, x1, y1 = out["crop"]
    assert abs((x1 - x0) - (y1 - y0)) <= 2 and out["attention"] == [14, 14]
    # the crop was ranked by the composition head (in numpy), not by the score head alone
    assert out["composer"] == "ArrayComposition" and out["composition"] != 0.0  # the whole frame's would be 0


def test_choosing_the_runtime(monkeypatch):
    from selfie_desk.neural import runtime

    monkeypatch.delenv(runtime.ENV, raising=False)
    assert choose(None, "cpu") == "onnx" and choose("torch", "cpu") == "torch"
    assert choose(None, "cuda") == "torch"
    with pytest.raises(RuntimeError, match="needs --runtime torch"):
        choose("onnx", "cuda")
    monkeypatch.setenv(runtime.ENV, "torch")
    assert choose(None, "cpu") == "torch" and choose("onnx", "cpu") == "onnx"
    monkeypatch.setenv(runtime.ENV, "tensorflow")
    with pytest.raises(ValueError, match="runtime must be one of"):
        choose(None, "cpu")
    monkeypatch.delenv(runtime.ENV)
    monkeypatch.setattr(runtime, "installed", lambda package: package != "torch")  # the CPU build
    assert choose(None, "auto") == "onnx" and choose(None, "cpu") == "onnx"
    with pytest.raises(RuntimeError, match="has no torch"):
        choose("torch", "cpu")


def test_the_cli_takes_a_runtime(demo_folder):
    run = subprocess.run([sys.executable, "-m", "selfie_desk", "score", str(demo_folder / "rocket.jpg"), "--json",
                          "--runtime", "onnx", "--device", "cuda"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode != 0 and "needs --runtime torch" in run.stderr
