"""Crop geometry, without torch: `geometry` (aspect presets, candidate boxes, the rules that keep faces whole, what a
search returns, whole-pixel rounding). The search's network side is selfie_desk.neural.crop_search."""
