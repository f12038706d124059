"""When the score changes: a catalog knows which embedding each photo has and which head made each score,
scores again on the next scan instead of keeping stale numbers, and a personal model trained on an older
embedding asks to be retrained instead of scoring garbage."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import catalog_at_version, photo, save_jpeg

from selfie_desk.core import paths
from selfie_desk.core.measures.embedding import EMBEDDING_ID, OLD_BACKBONE_ID
from selfie_desk.core.model_cards import StaleModelError
from selfie_desk.core.storage.catalog import Catalog
from selfie_desk.neural import pipeline, rescore
from selfie_desk.neural.model import load_head, model_card


def schema3_catalog_with_an_old_score(image: Path) -> None:
    """A catalog as the first score head left it: a 1280-value embedding and its score, schema 3."""
    db = catalog_at_version(paths.catalog_path(), 3)
    st = image.stat()
    from selfie_desk.core.formats.indexing import fingerprint

    db.execute("INSERT INTO photos (id, path, size, mtime_ns, fingerprint, width, height, rating, embedding, "
               "embedding_model, indexed_at) VALUES (1, ?, ?, ?, ?, 640, 480, 4, ?, 'default', 0)",
               (str(image), st.st_size, st.st_mtime_ns, fingerprint(str(image), st.st_size),
                np.ones(1280, np.float16).tobytes()))
    db.execute("INSERT INTO scores (photo_id, model, score, scored_at) VALUES (1, 'default', 0.85, 0)")
    db.commit()
    db.close()


def test_an_old_catalog_migrates_and_its_stale_scores_are_made_again(app_home, tmp_path, scorer):
    folder = tmp_path / "shoot"
    folder.mkdir()
    image = folder / "a.jpg"
    save_jpeg(image, photo(seed=3))
    schema3_catalog_with_an_old_score(image)
    with Catalog(paths.catalog_path()) as cat:
        stored = cat.embeddings([1])
        assert stored[1][1] == OLD_BACKBONE_ID  # the layout of embeddings made before layouts were recorded
        # an old-layout embedding is never fed to the new head
        assert rescore.from_embeddings(cat, scorer.head, "default", [1], EMBEDDING_ID, head_id=scorer.info.id) == set()
        states = cat.file_states("default", folder=str(folder), head=scorer.info.id)
        assert not states[str(image)].scored  # the old head's score does not count
        summary = pipeline.score([folder], cat, scorer)
        assert summary.scored == 1 and summary.index.unchanged == 0
        p = cat.photos("default", folder=str(folder))[0]
        assert p.score != 0.85 and p.rating == 4  # a new score; the user's stars kept
        assert cat.embeddings([1])[1][1] == EMBEDDING_ID
        assert set(p.aspects) == {"sharpness", "noise", "exposure", "framing"}
        again = pipeline.score([folder], cat, scorer)  # and now it is up to date
        assert again.index.unchanged == 1 and again.scored == 0


def write_old_personal_model(name: str) -> Path:
    """A personal model as the first version saved it (format 1: a head on the last layer alone)."""
    head = torch.nn.Sequential(torch.nn.LayerNorm(1280), torch.nn.Linear(1280, 1))
    target = paths.user_models_dir() / f"{name}.pt"
    target.parent.mkdir(parents=True, exist_ok=True)
    card = {"name": name, "kind": "personal", "backbone_id": OLD_BACKBONE_ID,
            "retrain": {"folders": ["/photos/2025"], "likes": None}}
    torch.save({"format": 1, "state_dict": head.state_dict(), "card": card}, target)
    target.with_suffix(".json").write_text(json.dumps(card))
    return target


def test_a_personal_model_of_an_older_embedding_asks_to_be_retrained(app_home):
    write_old_personal_model("mine")
    with pytest.raises(StaleModelError, match=r"retrain it: selfie-desk train /photos/2025 --name mine --replace"):
        load_head("mine")
    assert model_card("mine")["kind"] == "personal"  # its card stays readable


@pytest.mark.slow
def test_the_command_line_says_how_to_retrain_a_stale_model(app_home, tmp_path):
    write_old_personal_model("old")
    save_jpeg(tmp_path / "a.jpg", photo())
    done = subprocess.run([sys.executable, "-m", "selfie_desk", "score", str(tmp_path), "--model", "old",
                           "--device", "cpu"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "retrain it: selfie-desk train" in done.stderr
    assert "Traceback" not in done.stderr


def test_photos_scored_by_version_2_are_scored_again_with_the_focus_and_the_eyes(app_home, tmp_path, scorer):
    """Issue 27 changed what is stored per photo (looks-2: the focus and the face checks) and the head: a catalog
    scored by version 2 (a looks-1 embedding, its head's score) is decoded and scored again on the next scan,
    never fed to the new head as it was."""
    from selfie_desk.core.storage.catalog import Result

    folder = tmp_path / "shoot"
    folder.mkdir()
    image = folder / "a.jpg"
    save_jpeg(image, photo(seed=4))
    old_layout = "mobilenet_v2-b0353104.pth+looks-1"
    assert EMBEDDING_ID != old_layout
    with Catalog(paths.catalog_path()) as cat:
        st = image.stat()
        from selfie_desk.core.formats.indexing import fingerprint

        pid = cat.add_file(str(image), st.st_size, st.st_mtime_ns, fingerprint(str(image), st.st_size))
        cat.record([Result(pid, 640, 480, score=0.99, embedding=np.ones(2060, np.float32),
                           embedding_id=old_layout)], "default", "default:version2")
        assert rescore.from_embeddings(cat, scorer.head, "default", [pid], EMBEDDING_ID) == set()
        summary = pipeline.score([folder], cat, scorer)
        assert summary.scored == 1
        (p,) = cat.photos("default", folder=str(folder))
        assert p.score != 0.99 and cat.embeddings([pid])[pid][1] == EMBEDDING_ID
        assert len(cat.embeddings([pid])[pid][0]) == scorer.head.look_mean.shape[0] + 1280


def test_an_ensemble_is_the_mean_of_its_heads_and_keeps_a_shared_part_once():
    import copy

    import torch

    from selfie_desk.neural.model import FEATURE_DIM, ScoreHead

    torch.manual_seed(0)
    first = ScoreHead(hidden=32, qhidden=16).eval()
    heads = [first]
    for _ in range(2):  # the same content part, a quality part of its own (as version 3 was trained)
        other = copy.deepcopy(first)
        for module in other.quality:
            if isinstance(module, torch.nn.Linear):
                torch.nn.init.normal_(module.weight)
        heads.append(other.eval())
    merged = ScoreHead.ensemble(heads)
    assert (merged.hidden, merged.qhidden) == (32, 48)  # content once, the three quality parts side by side
    features = torch.randn(64, FEATURE_DIM)
    with torch.no_grad():
        mean_content = torch.stack([h.content_logit(features) for h in heads]).mean(0)
        mean_quality = torch.stack([h.quality_logit(features) for h in heads]).mean(0)
        assert torch.allclose(merged.content_logit(features), mean_content, atol=1e-5)
        assert torch.allclose(merged.quality_logit(features), mean_quality, atol=1e-5)
