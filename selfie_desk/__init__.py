"""Selfie Desk: cull a photo folder with a convnet."""
__version__ = "0.1.0"
