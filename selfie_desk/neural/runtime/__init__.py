"""The CPU inference runtime: every network of the scoring pass and the crop search as an ONNX graph run by
ONNX Runtime, the heads in numpy, no torch."""
