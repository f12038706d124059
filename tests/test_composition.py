"""The composition head (neural/composition.py): the shipped file, its shape and cost, and its one shortcut
(the RoDAlign part computed without building each box's masked grid) against the plain computation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from selfie_desk.core import weights
from selfie_desk.neural import composition
from selfie_desk.neural.composition import CompositionHead, geometry


def plain_scores(head: CompositionHead, fmap: torch.Tensor, boxes: torch.Tensor, aspect: torch.Tensor) -> torch.Tensor:
    """GAIC's computation written out: each box's RoIAlign grid, the whole map's grid with the box's cells zeroed,
    the geometry, concatenated and run through the layers."""
    from torchvision.ops import roi_align

    h, w = fmap.shape[-2:]
    rois = torch.cat([torch.zeros(len(boxes), 1), boxes * torch.tensor([w, h, w, h])], 1)
    inner = roi_align(fmap, rois, (head.roi, head.roi), 1.0, 2, True)
    whole = roi_align(fmap, torch.tensor([[0.0, 0.0, 0.0, w, h]]), (head.rod, head.rod), 1.0, 2, True)[0]
    rows = []
    for b in boxes.tolist():
        masked = whole.clone()
        for i in range(head.rod):
            for j in range(head.rod):
                cx, cy = (j + 0.5) / head.rod, (i + 0.5) / head.rod
                if b[0] <= cx <= b[2] and b[1] <= cy <= b[3]:
                    masked[:, i, j] = 0
        rows.append(masked.flatten())
    feats = torch.cat([inner.flatten(1), torch.stack(rows), geometry(boxes, aspect)], 1)
    return head.fc(feats).squeeze(-1)


def test_the_rod_shortcut_equals_the_plain_computation():
    torch.manual_seed(0)
    head = CompositionHead(channels=4, roi=3, rod=5, hidden=16).eval()
    fine, coarse = torch.randn(1, 96, 14, 10), torch.randn(1, 320, 7, 5)
    xy = torch.rand(40, 2) * 0.6
    boxes = torch.cat([xy, xy + 0.1 + torch.rand(40, 2) * 0.3], 1).clamp(max=1.0)
    boxes[0] = torch.tensor([0.0, 0.0, 1.0, 1.0])  # the whole frame cuts nothing away
    aspect = torch.tensor([10 / 14])
    with torch.no_grad():
        fmap = head.feature_map(fine, coarse)
        fast = head.score(fmap, boxes, aspect)
        slow = plain_scores(head, fmap, boxes, aspect)
    np.testing.assert_allclose(fast.numpy(), slow.numpy(), rtol=1e-4, atol=1e-5)


def test_the_shipped_head_is_small_plain_and_made_for_this_backbone():
    model = composition.load()
    params = sum(p.numel() for p in model.head.parameters())
    assert isinstance(model.head, torch.nn.Module) and 1_000 < params < 500_000
    assert weights.bundled_file(composition.CROP_HEAD_FILE).stat().st_size < 2_000_000
    assert model.card["backbone"] == composition.BACKBONE_FILE and model.id.startswith("crop:")
    # what it learned from is named in its card
    assert model.card["examples"]["fcdb"] > 500 and "validation" in model.card


def test_a_damaged_or_missing_head_file_is_refused_with_a_clear_error(tmp_path, monkeypatch):
    from selfie_desk.core import paths

    blob = bytearray((paths.bundled_models_dir() / composition.CROP_HEAD_FILE).read_bytes())
    monkeypatch.setenv("SELFIE_DESK_MODELS", str(tmp_path))
    with pytest.raises(weights.ModelMissingError, match="crop_head.pt is missing"):
        composition.load()
    blob[len(blob) // 2] ^= 0xFF
    (tmp_path / composition.CROP_HEAD_FILE).write_bytes(bytes(blob))
    with pytest.raises(weights.ModelMissingError, match="damaged"):
        composition.load()
