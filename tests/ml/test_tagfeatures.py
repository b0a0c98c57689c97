import json

import numpy as np
import pytest

from ml.tagfeatures import FORMAT, TFIDF, AuthorHistory, LabelNeighbours, TagFeatures
from ml.versioning import ArtifactMismatch
from ml.zlpr import ZLPRClassifier

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
    assert FORMAT in config.read_text()
    config.write_text(config.read_text().replace(FORMAT, "tag-features/0"))
    with pytest.raises(ArtifactMismatch):
        TagFeatures.load(tmp_path / "f")


def test_features_saved_before_the_neighbours_load_without_them(tmp_path):
    features = TagFeatures(TFIDF, embedding_weight=0.7).fit(TEXTS)
    features.save(tmp_path / "f")
    config = tmp_path / "f" / "config.json"
    old = {k: v for k, v in json.loads(config.read_text()).items() if "neighbour" not in k}
    config.write_text(json.dumps({**old, "format": "tag-features/2"}))
    loaded = TagFeatures.load(tmp_path / "f")
    assert not loaded.uses_neighbours
    whitened = _whitened(4)
    np.testing.assert_array_equal(
        loaded.transform(whitened, TEXTS).toarray(), features.transform(whitened, TEXTS).toarray()
    )


# Two labels; "ada" writes only label 0 papers, "bo" only label 1, "cy" one paper of each.
AUTHORS = [["ada"], ["ada", "cy"], ["ada"], ["bo"], ["bo", "cy"], ["bo"], ["dee"]]
LABELS = np.array([[1, 0], [1, 0], [1, 0], [0, 1], [0, 1], [0, 1], [1, 0]], dtype=np.float32)


def test_author_history_lifts_the_labels_an_authors_papers_carried():
    history = AuthorHistory().fit(AUTHORS, LABELS)
    rows = history.transform([["ada"], ["bo"], ["cy"], ["a stranger"], []])
    assert rows[0, 0] > 0 > rows[0, 1]  # ada's papers are all label 0
    assert rows[1, 1] > 0 > rows[1, 0]
    assert abs(rows[2, 0] - rows[2, 1]) < abs(rows[0, 0] - rows[0, 1])  # cy: one of each
    np.testing.assert_array_equal(rows[3:], 0.0)  # nobody known: no evidence either way


def test_a_training_paper_does_not_read_its_own_labels_in_its_history():
    history = AuthorHistory().fit(AUTHORS, LABELS)
    rows = history.transform(AUTHORS, own_labels=LABELS)
    np.testing.assert_array_equal(rows[6], 0.0)  # dee wrote nothing else
    # cy's other paper is label 1: on paper 1 (label 0) cy's share pulls towards label 1.
    alone = history.transform([["ada"]], own_labels=LABELS[:1])
    assert rows[1, 1] - rows[1, 0] > alone[0, 1] - alone[0, 0]
    assert np.sqrt((rows * rows).sum(axis=1).mean()) == pytest.approx(1.0, rel=1e-5)


def test_features_with_history_read_the_authors_and_save(tmp_path):
    texts = TEXTS + ["Gauge fields", "Second price bids", "Quarks"]
    features = TagFeatures(TFIDF, embedding_weight=0.35, history_weight=0.3)
    features.fit(texts, AUTHORS, LABELS)
    whitened = _whitened(7)
    known = features.transform(whitened, texts, AUTHORS)
    unknown = features.transform(whitened, texts)
    width = 6 + len(features.vectorizer_.vocabulary_)
    assert known.shape == (7, width + 2)
    assert abs(known[:, width:]).sum() > 0 and abs(unknown[:, width:]).sum() == 0
    np.testing.assert_allclose(known[:, :width].toarray(), unknown[:, :width].toarray())
    features.save(tmp_path / "f")
    loaded = TagFeatures.load(tmp_path / "f")
    np.testing.assert_array_equal(
        loaded.transform(whitened, texts, AUTHORS).toarray(), known.toarray()
    )
    assert loaded.get_params() == features.get_params()


def test_history_features_need_labels_to_fit():
    with pytest.raises(ValueError, match="authors and labels"):
        TagFeatures(TFIDF, history_weight=0.3).fit(TEXTS)


def test_author_lists_that_do_not_match_the_papers_are_refused():
    with pytest.raises(ValueError, match="one author list per labelled paper"):
        AuthorHistory().fit(AUTHORS[:3], LABELS)
    texts = TEXTS + ["Gauge fields", "Second price bids", "Quarks"]
    features = TagFeatures(TFIDF, embedding_weight=0.35, history_weight=0.3)
    features.fit(texts, AUTHORS, LABELS)
    with pytest.raises(ValueError, match="one author list per vector"):
        features.transform(_whitened(7), texts, AUTHORS[:2])


def _clusters(n_per, centres, seed=0, spread=0.15):
    """Unit vectors around each centre (rows of ``centres``), n_per each, and the centre's index."""
    rng = np.random.default_rng(seed)
    centres = np.asarray(centres, dtype=np.float32)
    which = np.repeat(np.arange(len(centres)), n_per)
    rows = centres[which] + rng.normal(scale=spread, size=(len(which), centres.shape[1]))
    return rows.astype(np.float32), which


def test_label_neighbours_read_the_labels_of_the_nearest_training_papers():
    vectors, which = _clusters(20, np.eye(6)[:3])
    Y = np.eye(3, dtype=np.float32)[which]  # each cluster carries its own label
    neighbours = LabelNeighbours(k=10).fit(vectors, Y)
    near_first, near_third = np.eye(6)[[0, 2]] + 0.05
    shares = neighbours.transform(np.stack([near_first, near_third]))
    np.testing.assert_allclose(shares[0], [1, 0, 0], atol=1e-3)
    np.testing.assert_allclose(shares[1], [0, 0, 1], atol=1e-3)
    np.testing.assert_allclose(neighbours.transform(vectors).sum(axis=1), 1.0, rtol=1e-4)


def test_a_training_paper_does_not_read_its_own_labels_among_its_neighbours():
    vectors, which = _clusters(20, np.eye(6)[:2])
    Y = np.eye(3, dtype=np.float32)[which]
    Y[0, 2] = 1  # one paper alone carries label 2
    neighbours = LabelNeighbours(k=5).fit(vectors, Y)
    own = neighbours.transform(vectors[:1])
    beside_it = neighbours.transform(vectors[:1] + 0.02)  # another paper just there
    assert own[0, 2] == 0
    assert beside_it[0, 2] > 0.1
    assert own[0, 0] == pytest.approx(1.0, abs=1e-3)  # the rest of its cluster still reads


def test_a_paper_whose_every_neighbour_is_itself_reads_no_labels():
    vectors = np.tile(_whitened(1), (3, 1))  # three copies of one paper
    neighbours = LabelNeighbours(k=5).fit(vectors, np.eye(3, dtype=np.float32))
    np.testing.assert_array_equal(neighbours.transform(vectors[:1]), 0.0)


def test_features_with_neighbours_save_and_give_the_same_rows(tmp_path):
    vectors, which = _clusters(10, np.eye(6)[:2])
    Y = np.eye(2, dtype=np.float32)[which]
    features = TagFeatures(None, embedding_weight=0.5, neighbour_weight=1.0, neighbours=5)
    features.fit(None, labels=Y, whitened=vectors)
    rows = features.transform(vectors)
    assert rows.shape == (20, 6 + 2)
    np.testing.assert_allclose(rows[:, 6:].toarray(), Y, atol=1e-3)  # clusters far apart
    features.save(tmp_path / "f")
    loaded = TagFeatures.load(tmp_path / "f")
    np.testing.assert_array_equal(loaded.transform(vectors).toarray(), rows.toarray())
    assert loaded.get_params() == features.get_params()


def test_neighbour_features_need_the_vectors_and_labels_to_fit():
    with pytest.raises(ValueError, match="whitened vectors and labels"):
        TagFeatures(TFIDF, neighbour_weight=1.0).fit(TEXTS, labels=np.eye(4))


def test_neighbours_teach_a_linear_tagger_a_label_no_hyperplane_separates():
    # Label 0 on the clusters at (1, 1) and (-1, -1), label 1 on (1, -1) and (-1, 1): XOR.
    centres = [[1, 1, 0, 0], [-1, -1, 0, 0], [1, -1, 0, 0], [-1, 1, 0, 0]]
    train, which = _clusters(60, centres, seed=0, spread=0.3)
    test, truth = _clusters(30, centres, seed=1, spread=0.3)
    Y, expected = (np.eye(2, dtype=np.float32)[(w >= 2).astype(int)] for w in (which, truth))
    accuracy = {}
    for weight in (0.0, 1.0):
        features = TagFeatures(None, embedding_weight=0.5, neighbour_weight=weight)
        features.fit(None, labels=Y, whitened=train)
        tagger = ZLPRClassifier(alpha=1e-4).fit(features.transform(train), Y)
        accuracy[weight] = (tagger.predict(features.transform(test)) == expected).all(axis=1).mean()
    assert accuracy[0.0] < 0.7
    assert accuracy[1.0] > 0.95
