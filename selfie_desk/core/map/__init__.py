"""The folder as a map: `layout` (every photo placed in 2-D by its embedding, snapped to a grid) and `mosaic` (the
map as one picture, `selfie-desk map`)."""
