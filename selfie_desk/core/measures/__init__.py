"""What is measured on a photo besides the convnet, and what is said of it: `look` (view, detail), `focus`, `face`
and `face_check` (a found face, its eyes and focus), `eyes` (open or closed), `registration` (the signature grouping
registers frames by), `embedding` (what the scoring pass stores, its layout), `reasons` and `describe` (the photo in
a photographer's words), `degrade` (the worse versions the score head learned from)."""
