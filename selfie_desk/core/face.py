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
