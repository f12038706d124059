"""What the scoring pass stores for each photo, without torch: the network's input (the whole photo squashed
to 224 x 224), the face detector's input, and the layout of the embedding (the pooled last layer, the stage
statistics, the looks). The catalog, the window and every head agree on these; the networks that make them
are in selfie_desk.neural.model.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from selfie_desk.core import look

INPUT_SIZE = 224
EMBEDDING_DIM = 1280
# MobileNetV2 stages whose outputs are summarised for the quality head (strides 4, 8, 16, 16, 32;
# channels 24, 32, 64, 96, 160): mean and standard deviation of each channel.
STAT_STAGES = (3, 6, 10, 13, 16)
STATS_DIM = 2 * (24 + 32 + 64 + 96 + 160)
LOOK_DIM = STATS_DIM + look.N_VIEW + look.N_DETAIL
FEATURE_DIM = EMBEDDING_DIM + LOOK_DIM
BACKBONE_FILE = "mobilenet_v2-b0353104.pth"
FACES_FILE = "retinaface_mobilenet0.25.pth"
# What made an embedding: the frozen backbone's pooled last layer followed by the looks (stage statistics,
# view, detail). Every head on the same layout can score any stored embedding without decoding the photo
# again; a head whose card names another layout cannot (the first heads read the last layer alone).
OLD_BACKBONE_ID = BACKBONE_FILE
EMBEDDING_ID = "mobilenet_v2-b0353104.pth+looks-1"
HEAD_FORMAT = 2


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
