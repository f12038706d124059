"""The torch-free core, by concern. Plain Python, numpy and Pillow; never imports Qt or torch (import-linter checks
both), so the window and the command line read these facts without loading the networks (selfie_desk.neural).

- `storage/`: what the app remembers about photos (the catalog and its access, the thumbnail cache).
- `formats/`: the formats photos are read from and written to (decoding, raw, DNG, XMP, sidecars, indexing a
  folder, export).
- `measures/`: what is measured on a photo besides the convnet (looks, focus, faces and eyes, the signature, the
  embedding's layout), the reasons and descriptions said of it, and the worse versions the score learned from.
- `culling/`: the open folder as data and the only writer of the user's edits (session, view, history), with the
  groups, the key people and the orders it is shown in.
- `crop/`: crop geometry (presets, candidate boxes, the faces' rules, whole-pixel rounding).
- `map/`: the folder as a map (layout) and as one picture (mosaic).
- beside them, shared by all: `paths` (every place the app writes), `files` (touching the user's files
  defensively, one atomic write), `vocabulary` (the closed vocabularies), `exit_codes`, `weights` and `model_cards`
  (model files and the models a user can choose), and `settings` (the user's preferences, which name choices from
  several packages: crop ratios, grouping thresholds).

The sub-packages are layers, each importing only those below it (import-linter checks it): map, formats, culling,
crop, measures, storage. The catalog is the bottom; the folder's map, reading it through the formats, the top.
"""
