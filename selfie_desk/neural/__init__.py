"""The torch side of the core: the networks (backbone and score head, face detector) and the passes that run
them (scoring, crop search, training a personal model, rescoring). Torch is imported here and nowhere else at
module level; the torch-free facts these passes share with the window live in selfie_desk.core."""
