import numpy as np
import pytest
from sklearn.decomposition import PCA

from ml.versioning import REBUILD_COMMAND, ArtifactMismatch, ArtifactMissing
from ml.whitening import Whitening


@pytest.fixture
def vectors():
    rng = np.random.default_rng(0)
    # Anisotropic, off-centre data like sentence embeddings (a common direction plus spread).
    base = rng.normal(size=(400, 12)) @ rng.normal(size=(12, 12)) * 0.3
    return base + 2.0


def _cosines(a):
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    return a @ a.T


def test_full_whitening_gives_zero_mean_and_identity_covariance(vectors):
    out = Whitening(beta=1, gamma=1, normalize=False).fit_transform(vectors)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(out.T @ out / len(out), np.eye(12), atol=1e-4)


def test_full_whitening_matches_sklearn_pca_whiten(vectors):
    ours = Whitening(beta=1, gamma=1, n_components=8, normalize=False).fit_transform(vectors)
    ref = PCA(n_components=8, whiten=True, svd_solver="full").fit_transform(vectors)
    # sklearn divides the covariance by n - 1, METHODS.md by n; components agree up to sign.
    ref = ref * np.sqrt(len(vectors) / (len(vectors) - 1))
    signs = np.sign((ours * ref).sum(axis=0))
    np.testing.assert_allclose(ours, ref * signs, atol=1e-4)


def test_components_are_the_pca_directions(vectors):
    white = Whitening(beta=1, gamma=0, n_components=5).fit(vectors)
    pca = PCA(n_components=5, svd_solver="full").fit(vectors)
    overlap = np.abs(white.components_ @ pca.components_.T)
    np.testing.assert_allclose(overlap, np.eye(5), atol=1e-6)


def test_rotation_keeps_cosines_unchanged(vectors):
    out = Whitening(beta=0, gamma=0, normalize=False).fit_transform(vectors)
    np.testing.assert_allclose(_cosines(out), _cosines(vectors), atol=1e-5)
    np.testing.assert_allclose(
        np.linalg.norm(out, axis=1), np.linalg.norm(vectors, axis=1), rtol=1e-5
    )


def test_truncation_keeps_k_unit_length_dimensions(vectors):
    out = Whitening(beta=0.5, gamma=0.5, n_components=4).fit_transform(vectors)
    assert out.shape == (400, 4)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1, atol=1e-5)


def test_queries_use_the_corpus_transform(vectors):
    white = Whitening(beta=1, gamma=0.5, n_components=6).fit(vectors[:300])
    query = vectors[300:301]
    manual = (query - white.mean_) @ white.components_.T / white.explained_variance_**0.25
    manual /= np.linalg.norm(manual)
    np.testing.assert_allclose(white.transform(query), manual, atol=1e-5)


def test_save_and_load_round_trip_with_encoder_id(vectors, tmp_path):
    white = Whitening(beta=0, gamma=0.25, n_components=6).fit(vectors, encoder_id="enc/a")
    white.save(tmp_path / "w")
    loaded = Whitening.load(tmp_path / "w", encoder_id="enc/a")
    assert loaded.get_params() == white.get_params()
    np.testing.assert_array_equal(loaded.transform(vectors), white.transform(vectors))


def test_loading_with_another_encoder_id_names_the_rebuild_command(vectors, tmp_path):
    Whitening().fit(vectors, encoder_id="enc/a").save(tmp_path / "w")
    with pytest.raises(ArtifactMismatch, match=REBUILD_COMMAND):
        Whitening.load(tmp_path / "w", encoder_id="enc/b")


def test_loading_a_missing_transform_names_the_rebuild_command(tmp_path):
    with pytest.raises(ArtifactMissing, match=REBUILD_COMMAND):
        Whitening.load(tmp_path / "nothing")


def test_it_rejects_bad_shapes(vectors):
    with pytest.raises(ValueError):
        Whitening(n_components=13).fit(vectors)
    with pytest.raises(ValueError):
        Whitening().fit(vectors[:1])
    white = Whitening().fit(vectors)
    with pytest.raises(ValueError):
        white.transform(vectors[:, :5])
