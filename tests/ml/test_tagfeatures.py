import numpy as np
import pytest

from ml.tagfeatures import TFIDF, TagFeatures
from ml.versioning import ArtifactMismatch

TEXTS = [
    "Lattice gauge theory on the lattice with quarks",
    "Auction design and mechanism design for bidders",
    "Quarks and gluons in lattice simulations",
    "Bidders in a second price auction",
]


def _whitened(n, k=6, seed=0):
    rows = np.random.default_rng(seed).normal(size=(n, k)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_rows_join_the_whitened_vector_and_the_words_with_unit_norm():
    features = TagFeatures(TFIDF, embedding_weight=0.5).fit(TEXTS)
    whitened = _whitened(4)
    X = features.transform(whitened, TEXTS)
    assert X.shape == (4, 6 + len(features.vectorizer_.vocabulary_))
    np.testing.assert_allclose(np.sqrt(X.multiply(X).sum(axis=1)).A1, 1.0, rtol=1e-5)
    np.testing.assert_allclose(X[:, :6].toarray(), whitened * np.sqrt(0.5), rtol=1e-6)
    lattice = features.vectorizer_.vocabulary_["lattice"]
    assert X[0, 6 + lattice] > 0 and X[1, 6 + lattice] == 0


def test_without_tfidf_the_whitened_vectors_pass_unchanged_and_no_text_is_needed():
    features = TagFeatures(None).fit(None)
    whitened = _whitened(3)
    assert not features.uses_text
    np.testing.assert_array_equal(features.transform(whitened), whitened)


def test_a_text_tagger_refuses_vectors_without_their_texts():
    features = TagFeatures(TFIDF).fit(TEXTS)
    with pytest.raises(ValueError, match="texts"):
        features.transform(_whitened(4))
    with pytest.raises(ValueError, match="texts"):
        features.transform(_whitened(4), TEXTS[:2])


def test_saved_features_load_and_give_the_same_rows(tmp_path):
    features = TagFeatures(TFIDF, embedding_weight=0.7).fit(TEXTS)
    features.save(tmp_path / "f")
    loaded = TagFeatures.load(tmp_path / "f")
    whitened = _whitened(4)
    unseen = ["an auction of lattice quarks", ""]
    for texts, rows in ((TEXTS, whitened), (unseen, whitened[:2])):
        np.testing.assert_array_equal(
            loaded.transform(rows, texts).toarray(), features.transform(rows, texts).toarray()
        )
    assert loaded.get_params() == features.get_params()


def test_features_saved_by_another_format_are_refused(tmp_path):
    TagFeatures(None).save(tmp_path / "f")
    config = tmp_path / "f" / "config.json"
    config.write_text(config.read_text().replace("tag-features/1", "tag-features/0"))
    with pytest.raises(ArtifactMismatch):
        TagFeatures.load(tmp_path / "f")
