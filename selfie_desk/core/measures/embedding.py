"""What the scoring pass stores for each photo, without torch: the network's input (the whole photo squashed
to 224 x 224), the face detector's input, and the layout of the embedding (the pooled last layer, the stage
statistics, the looks). The catalog, the window and every head agree on these; the networks that make them
are in selfie_desk.neural.model.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from selfie_desk.core.measures import look

INPUT_SIZE = 224
EMBEDDING_DIM = 1280
# MobileNetV2 stages whose outputs are summarised for the quality head (strides 4, 8, 16, 16, 32;
# channels 24, 32, 64, 96, 160): mean and standard deviation of each channel.
STAT_STAGES = (3, 6, 10, 13, 16)
STATS_DIM = 2 * (24 + 32 + 64 + 96 + 160)
# What the face checks found (selfie_desk.core.measures.face_check), written into the looks once they are known (the
# pass measures eyes beside the next batch): the share of the photo's trusted faces whose eyes are closed. It sits
# between the focus and the detail, so that the detail stays last (the pass reads its "on a face" flag there).
CHECK_NAMES = ("eyes_closed",)
N_CHECK = len(CHECK_NAMES)
LOOK_DIM = STATS_DIM + look.N_VIEW + look.N_FOCUS + N_CHECK + look.N_DETAIL
FEATURE_DIM = EMBEDDING_DIM + LOOK_DIM
# where each part of the looks starts in a stored embedding
VIEW_AT = EMBEDDING_DIM + STATS_DIM
FOCUS_AT = VIEW_AT + look.N_VIEW
CHECK_AT = FOCUS_AT + look.N_FOCUS
DETAIL_AT = CHECK_AT + N_CHECK
BACKBONE_FILE = "mobilenet_v2-b0353104.pth"
FACES_FILE = "retinaface_mobilenet0.25.pth"
# What made an embedding: the frozen backbone's pooled last layer followed by the looks (stage statistics,
# view, detail). Every head on the same layout can score any stored embedding without decoding the photo
# again; a head whose card names another layout cannot (the first heads read the last layer alone).
OLD_BACKBONE_ID = BACKBONE_FILE
EMBEDDING_ID = "mobilenet_v2-b0353104.pth+looks-2"  # looks-2: the focus and the eye checks (issue 27)
HEAD_FORMAT = 3


def with_checks(values: np.ndarray, checks: np.ndarray | None = None) -> np.ndarray:
    """A look's values (``look.Look.values``: view, focus, detail) with the face checks put in their place
    (zeros until they are known)."""
    n = look.N_VIEW + look.N_FOCUS
    fill = np.zeros(N_CHECK, np.float32) if checks is None else np.asarray(checks, np.float32)
    return np.concatenate([values[:n], fill, values[n:]]).astype(np.float32)


def model_input(im: Image.Image) -> np.ndarray:
    """The whole photo squashed to 224 x 224 (uint8 HWC): nothing cropped, so framing is visible to the net.

    Squashing matches how the crop search pools a candidate box to a fixed grid of features.
    """
    return np.asarray(im.convert("RGB").resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BILINEAR, reducing_gap=2.0))


def face_input(view: Image.Image, edge: int) -> np.ndarray:
    """The face detector's input: the view reduced to `edge` on its long side."""
    small = view.copy()
    small.thumbnail((edge, edge), Image.Resampling.BILINEAR)
    return np.asarray(small)
