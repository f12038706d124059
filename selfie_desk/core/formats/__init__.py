"""The formats of the user's files (touched through core/files.py: regular files only, reads with a timeout,
recognisable temporary files): `decoding` (every supported format, upright), `raw` (camera raws through
LibRaw), `dng` (a minimal DNG writer), `xmp` and `sidecars` (decisions as XMP, read and written), `indexing`
(finding a folder's photos and what needs reading), `export` (copies of the keepers, never losing a file)."""
