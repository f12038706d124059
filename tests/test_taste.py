"""Personal models (issue 7): a taste the default model does not have (black and white preferred to colour)
learned from picks, from a likes table and (once XMP reading lands) from XMP ratings, and holding on
photos held out of training; the likes recipe's grouping; the CLI; scores from stored embeddings.

One folder of colour/black-and-white pairs is scored once per module (the real scoring pass); each test
gets its own copy of that catalog under its own SELFIE_DESK_HOME.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from taste_data import copy_catalog

from selfie_desk.core import paths
from selfie_desk.core.culling.session import CullingSession
from selfie_desk.core.model_cards import available_models
from selfie_desk.core.storage.catalog import Catalog
from selfie_desk.demo import make_taste_folder
from selfie_desk.neural import pipeline, rescore, taste
from selfie_desk.neural.model import Scorer

# ---- the recipe's grouping (no photos needed) -----------------------------------------------------------


def post(i: int, likes: float, followers: float, tags: int = 0) -> taste.Post:
    return taste.Post(f"/p/{i:04d}.jpg", likes, followers, tags)


def test_groups_of_100_by_audience_top_half_good():
    rng = np.random.default_rng(0)
    posts = [post(i, float(rng.integers(0, 10_000)), float(rng.permutation(1000)[0] * 10 + i)) for i in range(250)]
    groups = taste.likes_groups(posts)
    # sorted by followers, consecutive groups of 100; the last 50 (half a group) stand on their own
    assert [len(g) for g in groups] == [100, 100, 50]
    flat = [p for g in groups for p in g]
    assert [p.followers for p in flat] == sorted(p.followers for p in posts)
    labels = dict((p.path, good) for p, good in taste.likes_labels(posts))
    for g in groups:
        by_likes = sorted(g, key=lambda p: -p.likes)
        half = len(g) // 2
        assert all(labels[p.path] for p in by_likes[:half] if p.path in labels)
        assert not any(labels[p.path] for p in by_likes[half:] if p.path in labels)
        assert sum(p.path in labels for p in g) >= len(g) - 2  # only border ties are left out


def test_small_last_group_joins_the_one_before():
    posts = [post(i, i, i) for i in range(130)]
    assert [len(g) for g in taste.likes_groups(posts, 100)] == [130]
    assert [len(g) for g in taste.likes_groups(posts[:5], 100)] == [5]


def test_groups_control_for_audience():
    """A small account's best post beats a big account's worst only within comparable audiences: raw likes
    would call every post of the big accounts good."""
    small = [post(i, likes=10 + i, followers=100 + i) for i in range(10)]  # 10-19 likes
    big = [post(100 + i, likes=1000 + i, followers=100_000 + i) for i in range(10)]  # 1000-1009 likes
    labels = {p.path: good for p, good in taste.likes_labels(small + big, group_size=10)}
    assert [labels[p.path] for p in small] == [False] * 5 + [True] * 5
    assert [labels[p.path] for p in big] == [False] * 5 + [True] * 5


def test_tag_bonus_and_ties_and_odd_groups():
    # each tag beyond the first adds 5 % audience: 1000 followers with 3 tags sorts above 1080 with 1
    a, b = post(1, 5, 1000, tags=3), post(2, 5, 1080, tags=1)
    assert a.audience > b.audience
    assert taste.likes_groups([a, b], 2)[0] == [b, a]
    # odd group: the middle post carries no label; ties across the border carry none either
    odd = [post(i, likes, 10) for i, likes in enumerate([1, 2, 3, 4, 5])]
    assert {p.likes: g for p, g in taste.likes_labels(odd, 5)} == {5: True, 4: True, 2: False, 1: False}
    tied = [post(i, likes, 10) for i, likes in enumerate([1, 3, 3, 9])]
    assert {p.likes: g for p, g in taste.likes_labels(tied, 4)} == {9: True, 1: False}


def test_likes_csv_reading(tmp_path: Path):
    (tmp_path / "likes.csv").write_text("path,likes,followers,tags\na.jpg,10,100,#me #selfie #sun\n"
                                        "/abs/b.jpg,3,50,2\nc.jpg,1,5,\n")
    posts = taste.read_likes_csv(tmp_path / "likes.csv")
    assert [(Path(p.path).name, p.likes, p.followers, p.tags) for p in posts] == [
        ("a.jpg", 10, 100, 3), ("b.jpg", 3, 50, 2), ("c.jpg", 1, 5, 0)]
    assert posts[0].path == str(tmp_path / "a.jpg") and posts[1].path == "/abs/b.jpg"
    (tmp_path / "bad.csv").write_text("file,likes\na.jpg,1\n")
    with pytest.raises(taste.TasteError, match="path,likes,followers"):
        taste.read_likes_csv(tmp_path / "bad.csv")
    (tmp_path / "bad2.csv").write_text("path,likes,followers\na.jpg,many,1\n")
    with pytest.raises(taste.TasteError, match="line 2"):
        taste.read_likes_csv(tmp_path / "bad2.csv")


def test_label_rules():
    assert taste.label_of("keep", 0) == (True, "pick")
    assert taste.label_of("reject", 5) == (False, "reject")  # a decision beats stars
    assert taste.label_of(None, 5) == taste.label_of(None, 4) == (True, "stars")
    assert taste.label_of(None, 2) == taste.label_of(None, 1) == (False, "stars")
    assert taste.label_of(None, 3) is None and taste.label_of(None, 0) is None


def test_stratified_seeded_holdout():
    good = np.array([True] * 30 + [False] * 70)
    train, test = taste.split_holdout(good, 0.2, seed=3)
    assert len(test) == 20 and good[test].sum() == 6 and (~good[test]).sum() == 14
    assert set(train) | set(test) == set(range(100)) and not set(train) & set(test)
    again = taste.split_holdout(good, 0.2, seed=3)
    assert list(again[1]) == list(test)


# ---- the black-and-white taste on real embeddings ---------------------------------------------------------


@pytest.fixture
def catalog_copy(taste_set, app_home):
    """This test's catalog (under its SELFIE_DESK_HOME): a copy of the session's scored one."""
    folder, db, truth = taste_set
    copy_catalog(db, paths.catalog_path())
    catalog = Catalog(paths.catalog_path())
    yield catalog, folder, truth
    catalog.close()


def pick_bw(catalog: Catalog, folder: Path, truth: dict[str, bool]) -> dict[int, str]:
    decisions = {}
    for p in catalog.photos("default", folder=str(folder)):
        decisions[p.id] = "keep" if truth[Path(p.path).name] else "reject"
        CullingSession(catalog).adopt([(p.id, "decision", decisions[p.id])])
    return decisions


def heldout_holds(result: taste.TrainingResult) -> None:
    a = result.heldout
    assert a is not None and a.n >= 15 and a.good >= 7 and a.bad >= 7
    # the personal model learned the taste, on photos it never saw ...
    assert a.accuracy >= 0.85 and a.auc >= 0.9, a
    # ... which the default model does not have
    assert a.default_auc <= 0.75 and a.auc >= a.default_auc + 0.2, a


def test_taste_learned_from_picks_holds_out(catalog_copy):
    catalog, folder, truth = catalog_copy
    decisions = pick_bw(catalog, folder, truth)
    labels, unscored = taste.labels_from_catalog(catalog)
    assert unscored == 0 and len(labels) == len(truth)
    assert {lab.source for lab in labels} == {"pick", "reject"}
    result = taste.train(catalog, labels, "bw", holdout=0.2, seed=0)
    heldout_holds(result)
    assert result.card["labels"] == {"total": 96, "good": 48, "bad": 48, "sources": {"pick": 48, "reject": 48}}
    assert result.card["training"]["seconds"] < 30 and result.card["base_model"] == "default"

    path = taste.save_model(result)
    assert path.parent == paths.user_models_dir() and path.with_suffix(".json").is_file()
    assert "bw" in available_models()
    with pytest.raises(taste.TasteError, match="exists already"):
        taste.save_model(result)
    # scores for every photo from the stored embeddings, no decoding
    assert rescore.rescore(catalog, "bw") == len(truth)
    scored = catalog.photos("bw", folder=str(folder))
    bw = [p.score for p in scored if truth[Path(p.path).name]]
    colour = [p.score for p in scored if not truth[Path(p.path).name]]
    assert np.mean(bw) > 0.7 > 0.3 > np.mean(colour)
    # never destructive: decisions are what the user set
    assert {p.id: p.decision for p in scored} == decisions


def test_scorer_loads_a_personal_model_and_the_pipeline_reuses_embeddings(catalog_copy, scorer):
    catalog, folder, truth = catalog_copy
    pick_bw(catalog, folder, truth)
    labels, _ = taste.labels_from_catalog(catalog)
    taste.save_model(taste.train(catalog, labels, "bw"))
    personal = Scorer(model="bw", device="cpu")
    assert personal.model_name == "bw" and personal.info.card["kind"] == "personal"
    switched = scorer.with_model("bw")
    assert switched.backbone is scorer.backbone and switched.model_name == "bw"
    summary = pipeline.score([folder], catalog, switched)  # every photo has an embedding: none decoded
    assert summary.scored == len(truth) and summary.elapsed < 5
    from_pass = {p.path: p.score for p in catalog.photos("bw", folder=str(folder))}
    # the same head on a freshly decoded photo agrees with the score from its stored (float16) embedding
    one = sorted(from_pass)[0]
    catalog.forget_model("bw")
    catalog._db.execute("UPDATE photo_features SET embedding = NULL "  # the embedding lives there (schema 11)
                        "WHERE photo_id = (SELECT id FROM photos WHERE path = ?)", (one,))
    again = pipeline.score([folder], catalog, personal)
    assert again.scored == len(truth)
    assert catalog.photos("bw", paths=[one])[0].score == pytest.approx(from_pass[one], abs=0.02)


def test_taste_learned_from_a_likes_table(catalog_copy):
    """Colour photos are posted by accounts with 3x the followers; B&W get 2x the likes at the same
    audience. Raw likes say colour; the recipe, within groups of similar audience, finds B&W."""
    catalog, folder, truth = catalog_copy
    rng = np.random.default_rng(1)
    posts = []
    for p in catalog.photos("default", folder=str(folder)):
        bw = truth[Path(p.path).name]
        followers = float(np.exp(rng.normal(7.0, 1.2)) * (1.0 if bw else 3.0))
        posts.append(taste.Post(p.path, round(followers * 0.05 * (2.0 if bw else 1.0) * np.exp(rng.normal(0, 0.2))),
                                round(followers)))
    raw_top = sorted(posts, key=lambda p: -p.likes)[: len(posts) // 2]
    assert np.mean([truth[Path(p.path).name] for p in raw_top]) < 0.5  # raw likes prefer colour
    labels, missing = taste.labels_from_likes(catalog, posts, group_size=10)
    assert missing == 0 and len(labels) >= 80
    good_bw = np.mean([truth[Path(lab.path).name] for lab in labels if lab.good])
    assert good_bw >= 0.7, good_bw
    result = taste.train(catalog, labels, "likes", holdout=0.2, seed=0)
    assert result.card["labels"]["sources"] == {"likes": len(labels)}
    # agreement with the likes labels on held-out photos, and with the true taste on every photo. The likes
    # labels are noisy (good_bw ~0.7) and only 18 are held out: 0.80 with the first score head, 0.75 with the
    # one learned from people's opinions (whose features start from quality, not colour); the true taste
    # below is the firmer check.
    assert result.heldout is not None and result.heldout.auc >= 0.7, result.heldout
    assert result.heldout.auc > result.heldout.default_auc, result.heldout
    emb = catalog.embeddings([lab.photo_id for lab in labels])
    x = np.stack([emb[lab.photo_id][0] for lab in labels])
    truth_v = np.array([truth[Path(lab.path).name] for lab in labels])
    # the true taste (black and white) over every photo, from ~0.7-pure labels: 0.894 on score head version 3's
    # features (looks-2: the focus values added), over 0.9 before; a head that learned nothing reads ~0.5
    assert taste.pairwise_auc(taste.head_scores(result.head, x), truth_v) >= 0.85


def test_too_few_labels_warn_and_one_class_refuses(catalog_copy):
    catalog, folder, truth = catalog_copy
    photos = catalog.photos("default", folder=str(folder))
    bw = [p for p in photos if truth[Path(p.path).name]]
    colour = [p for p in photos if not truth[Path(p.path).name]]
    for p in bw[:6]:
        CullingSession(catalog).adopt([(p.id, "decision", "keep")])
    labels, _ = taste.labels_from_catalog(catalog)
    with pytest.raises(taste.TasteError, match="both"):
        taste.train(catalog, labels, "x")
    for p in colour[:3]:
        CullingSession(catalog).adopt([(p.id, "rating", 1)])  # 1 star: bad
    CullingSession(catalog).adopt([(colour[4].id, "rating", 3)])  # neutral: not a label
    labels, _ = taste.labels_from_catalog(catalog)
    assert len(labels) == 9
    result = taste.train(catalog, labels, "x", holdout=0.2)
    assert any("fewer than 20" in w for w in result.warnings)
    assert result.card["labels"]["sources"] == {"pick": 6, "stars": 3}
    with pytest.raises(taste.TasteError):
        taste.train(catalog, [], "x")
    with pytest.raises(taste.TasteError, match="name"):
        taste.train(catalog, labels, "../evil")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "selfie_desk", *args], capture_output=True, text=True, timeout=600)


def test_cli_train_models_and_score(catalog_copy):
    catalog, folder, truth = catalog_copy
    pick_bw(catalog, folder, truth)
    catalog.close()
    done = run_cli("train", str(folder), "--name", "bw", "--holdout", "0.2")
    assert done.returncode == 0, done.stderr
    assert "Held-out agreement on 20 photos" in done.stdout and "default" in done.stdout
    assert "Saved model 'bw'" in done.stdout and "Traceback" not in done.stderr

    listed = run_cli("models", "--json")
    rows = {r["name"]: r for r in map(json.loads, listed.stdout.splitlines())}
    assert set(rows) == {"default", "bw"}
    card = rows["bw"]["card"]
    assert card["labels"]["total"] == 96 and card["heldout_agreement"]["auc"] >= 0.9
    assert card["base_model"] == "default" and card["date"]
    table = run_cli("models")
    assert table.returncode == 0 and "bw" in table.stdout and "held out" in table.stdout

    scored = run_cli("score", str(folder), "--json", "--model", "bw", "--device", "cpu")
    assert scored.returncode == 0, scored.stderr
    rows = [json.loads(line) for line in scored.stdout.splitlines()]
    top = [truth[Path(r["path"]).name] for r in rows[: len(rows) // 2]]
    assert np.mean(top) >= 0.9  # ranked best first: the black-and-white ones

    again = run_cli("train", str(folder), "--name", "bw")
    assert again.returncode == 2 and "exists already" in again.stderr
    assert run_cli("train", "--name", "x", "--holdout", "1.5").returncode == 2
    assert run_cli("train", str(folder)).returncode == 2  # --name is required
    assert run_cli("train", str(folder / "nope"), "--name", "x").returncode == 2


def test_cli_train_from_a_likes_csv(catalog_copy, tmp_path):
    catalog, folder, truth = catalog_copy
    photos = catalog.photos("default", folder=str(folder))
    catalog.close()
    rng = np.random.default_rng(2)
    lines = ["path,likes,followers,tags"]
    for p in photos:  # similar audiences, B&W liked more
        bw = truth[Path(p.path).name]
        lines.append(f"{Path(p.path).relative_to(folder.parent)},{int(rng.integers(40, 60)) * (2 if bw else 1)},"
                     f"{int(rng.integers(900, 1100))},#selfie")
    csv_file = folder.parent / "likes.csv"
    csv_file.write_text("\n".join(lines) + "\n")
    done = run_cli("train", "--likes", str(csv_file), "--name", "liked")
    assert done.returncode == 0, done.stderr
    assert "likes" in done.stdout and "Held-out agreement" in done.stdout
    card = json.loads((paths.user_models_dir() / "liked.json").read_text())
    assert card["labels"]["sources"] == {"likes": card["labels"]["total"]} and card["labels"]["total"] >= 90
    assert card["heldout_agreement"]["auc"] >= 0.85


def test_cli_one_class_is_a_clear_error(catalog_copy):
    catalog, folder, truth = catalog_copy
    for p in catalog.photos("default", folder=str(folder))[:5]:
        CullingSession(catalog).adopt([(p.id, "decision", "keep")])
    catalog.close()
    done = run_cli("train", "--name", "x")
    assert done.returncode == 1 and "both" in done.stderr and "Traceback" not in done.stderr
    assert not (paths.user_models_dir() / "x.pt").exists()


def test_taste_learned_from_xmp_ratings(tmp_path, scorer):
    """Ratings written by Lightroom/darktable in sidecars arrive as stars/rejects (issue 5's XMP reading)."""
    pytest.importorskip("selfie_desk.core.formats.xmp")
    folder = tmp_path / "rated"
    truth = make_taste_folder(folder, per_source=6)
    for i, (name, bw) in enumerate(truth.items()):
        rating = 5 if bw else (1 if i % 4 == 0 else -1)  # colour: 1 star or rejected (-1), alternately
        (folder / f"{Path(name).stem}.xmp").write_text(
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            f'<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="{rating}"/>'
            "</rdf:RDF></x:xmpmeta>")
    with Catalog(paths.catalog_path()) as catalog:
        pipeline.score([folder], catalog, scorer)
        labels, unscored = taste.labels_from_catalog(catalog, [str(folder)])
        assert unscored == 0 and len(labels) == len(truth)
        assert all(lab.good == truth[Path(lab.path).name] for lab in labels)
        heldout_holds(taste.train(catalog, labels, "xmp", holdout=0.25))


def test_personal_models_live_in_the_app_data_folder(app_home):
    assert paths.user_models_dir().is_relative_to(app_home)
