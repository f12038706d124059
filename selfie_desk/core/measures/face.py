"""A face found in a photo: its box, the detector's confidence and five landmarks. Torch-free, so the
catalog, the crop geometry and the window share it; the detector is selfie_desk.neural.faces."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Face:
    """One detected face, in pixels of the image it was detected in."""

    box: tuple[float, float, float, float]  # x0, y0, x1, y1
    confidence: float
    landmarks: tuple[tuple[float, float], ...]  # right eye, left eye, nose, right mouth, left mouth corner

    def scaled(self, sx: float, sy: float) -> Face:
        """The same face in an image resized by (sx, sy), e.g. from a thumbnail to the full photo."""
        x0, y0, x1, y1 = self.box
        return Face(
            box=(x0 * sx, y0 * sy, x1 * sx, y1 * sy),
            confidence=self.confidence,
            landmarks=tuple((x * sx, y * sy) for x, y in self.landmarks),
        )

    def shifted(self, dx: float, dy: float) -> Face:
        """The same face with the image's origin moved: in a crop whose corner is at (-dx, -dy)."""
        x0, y0, x1, y1 = self.box
        return Face(
            box=(x0 + dx, y0 + dy, x1 + dx, y1 + dy),
            confidence=self.confidence,
            landmarks=tuple((x + dx, y + dy) for x, y in self.landmarks),
        )


def check_batch_sizes(sizes: list[tuple[int, int]], n: int, width: int, height: int) -> None:
    """A face detector's batch of `n` images padded to `width` x `height`: each real (width, height) in `sizes`
    must fit it (the torch detector and the ONNX Runtime one check the same)."""
    if len(sizes) != n:
        raise ValueError(f"{len(sizes)} sizes for a batch of {n}")
    for wi, hi in sizes:
        if not (0 < wi <= width and 0 < hi <= height):
            raise ValueError(f"image size {(wi, hi)} does not fit the batch's {(width, height)}")
