"""Packaged language data and models the stages consult, loaded once per worker: rarity
(word frequencies), word_vectors (GloVe vectors) and text_encoder (multilingual-e5-small)."""
