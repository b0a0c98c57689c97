import json

import numpy as np
import pytest

from ml.artifacts import KEYWORDS_OUTPUT, ArtifactSet, train_artifacts
from ml.encoder import TextEncoder
from ml.versioning import REBUILD_COMMAND, ArtifactMismatch, ArtifactMissing

TOPICS = {
    "cs.LG": "gradient descent training neural network optimisation loss",
    "quant-ph": "quantum qubits entanglement error correction decoherence",
    "q-bio": "protein folding cells genes expression biology",
}


def _corpus(n=90, seed=0):
    """Texts, labels and raw 384-d vectors whose direction depends on the topic."""
    rng = np.random.default_rng(seed)
    names = list(TOPICS)
    centres = rng.normal(size=(len(names), 384))
    texts, labels, vectors = [], [], []
    for i in range(n):
        topic = i % len(names)
        words = TOPICS[names[topic]].split()
        texts.append(" ".join(rng.choice(words, size=12)) + f" paper {i}.")
        labels.append([names[topic]] if i % 10 else None)  # every tenth row: labels unknown
        vectors.append(centres[topic] + 0.5 * rng.normal(size=384))
    vectors = np.array(vectors, dtype=np.float32)
    return texts, labels, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture
def trained():
    texts, labels, vectors = _corpus()
    artifacts = train_artifacts(
        texts, labels, vectors=vectors, encoder=TextEncoder("fp32"),
        whitening={"n_components": 32}, keywords={"vector_size": 16, "epochs": 5, "workers": 1},
        min_label_count=5,
    )  # fmt: skip
    return artifacts, texts, vectors


@pytest.mark.slow
def test_trained_set_tags_keywords_and_whitens(trained):
    artifacts, texts, vectors = trained
    assert artifacts.tagger.classes_ == sorted(TOPICS)
    assert artifacts.trained["n_labelled"] == 81
    whitened = artifacts.whiten(vectors)
    assert whitened.shape == (90, 32)
    tags = artifacts.predict_tags(whitened[:3], texts[:3])
    assert [[label for label, _ in row] for row in tags] == [["cs.LG"], ["quant-ph"], ["q-bio"]]
    assert all(0.5 < conf <= 1 for row in tags for _, conf in row)
    words = {k for k, _ in artifacts.extract_keywords(texts[1], top_n=5)}
    assert words and all(
        set(w.split()) <= set(texts[1].lower().replace(".", "").split()) for w in words
    )


@pytest.mark.slow
def test_the_tagger_learns_an_authors_cross_listing_habit():
    """Half the papers of every topic are by "habit", who also lists each in cs.CY: only the
    author tells which papers carry cs.CY."""
    texts, labels, vectors = _corpus(120)
    authors = [["habit", f"coauthor {i}"] if i % 2 else [f"someone {i}"] for i in range(120)]
    labels = [row + ["cs.CY"] if row and i % 2 else row for i, row in enumerate(labels)]
    artifacts = train_artifacts(
        texts, labels, vectors=vectors, encoder=TextEncoder("fp32"), authors=authors,
        whitening={"n_components": 32}, keywords={"vector_size": 16, "epochs": 5, "workers": 1},
        min_label_count=5,
    )  # fmt: skip
    assert artifacts.trained["tag_features"]["n_authors"] > 1
    whitened = artifacts.whiten(vectors[:6])
    cy = artifacts.tagger.classes_.index("cs.CY")
    scores = {
        who: artifacts.tagger.decision_function(
            artifacts.tag_inputs(whitened, texts[:6], [[who]] * 6)
        )[:, cy]
        for who in ("habit", "a stranger")
    }
    assert (scores["habit"] > 0).all() and (scores["a stranger"] < scores["habit"]).all()


@pytest.mark.slow
def test_save_load_round_trip_keeps_version_and_outputs(trained, tmp_path):
    artifacts, texts, vectors = trained
    artifacts.save(tmp_path / "models")
    loaded = ArtifactSet.load(tmp_path / "models", expected_version=artifacts.version)
    assert loaded.version == artifacts.version
    assert loaded.version.startswith("v4:all-MiniLM-L6-v2/fp32/seq256:")
    assert loaded.version.endswith(f":kw{KEYWORDS_OUTPUT}")  # new keyword code: enrich again
    np.testing.assert_array_equal(loaded.whiten(vectors), artifacts.whiten(vectors))
    assert loaded.tagger_reads_text and loaded.tag_features.uses_neighbours
    assert loaded.predict_tags(loaded.whiten(vectors[:5]), texts[:5]) == artifacts.predict_tags(
        artifacts.whiten(vectors[:5]), texts[:5]
    )
    assert loaded.extract_keywords(texts[0]) == artifacts.extract_keywords(texts[0])


def test_missing_artifacts_name_the_rebuild_command(tmp_path):
    with pytest.raises(ArtifactMissing, match="python manage.py train_models"):
        ArtifactSet.load(tmp_path / "models")
    (tmp_path / "models").mkdir()
    with pytest.raises(ArtifactMissing, match=REBUILD_COMMAND):
        ArtifactSet.load(tmp_path / "models")


@pytest.mark.slow
def test_mismatched_artifacts_name_the_rebuild_command(trained, tmp_path):
    artifacts, _, _ = trained
    artifacts.save(tmp_path / "models")
    with pytest.raises(ArtifactMismatch, match=REBUILD_COMMAND):
        ArtifactSet.load(tmp_path / "models", expected_version="v1:other-encoder:x")
    config_file = tmp_path / "models" / "config.json"
    config = json.loads(config_file.read_text())
    config["artifact_format"] = 999
    config_file.write_text(json.dumps(config))
    with pytest.raises(ArtifactMismatch, match=REBUILD_COMMAND):
        ArtifactSet.load(tmp_path / "models")
    config["artifact_format"] = 3
    config["encoder"]["id"] = "all-MiniLM-L6-v2/bf16/seq256"
    config_file.write_text(json.dumps(config))
    with pytest.raises(ArtifactMismatch, match=REBUILD_COMMAND):
        ArtifactSet.load(tmp_path / "models")


def test_training_rejects_mismatched_inputs():
    texts, labels, vectors = _corpus(12)
    with pytest.raises(ValueError):
        train_artifacts(texts, labels[:5], vectors=vectors, encoder=TextEncoder("fp32"))
    with pytest.raises(ValueError):
        train_artifacts(texts, None, vectors=vectors[:, :10], encoder=TextEncoder("fp32"))


@pytest.mark.slow
def test_embed_runs_the_encoder_then_the_whitening(tmp_path):
    texts = [
        "Graph neural networks for molecules.", "Quantum error correction with surface codes.",
        "Protein folding with deep learning.", "", r"$\alpha$-stable noise in SGD",
    ]  # fmt: skip
    encoder = TextEncoder("fp32", batch_size=4)
    artifacts = train_artifacts(
        texts, None, encoder=encoder, whitening={"n_components": 4},
        keywords={"vector_size": 8, "epochs": 2, "workers": 1, "min_count": 1},
    )  # fmt: skip
    assert artifacts.tagger is None and artifacts.predict_tags(np.zeros((2, 4))) == [[], []]
    out = artifacts.embed(["Graph networks on molecules", ""])
    np.testing.assert_allclose(
        out, artifacts.whiten(encoder.encode(["Graph networks on molecules", ""])), atol=1e-5
    )


def test_openvino_artifacts_embed_with_torch_fp32_where_openvino_is_missing(monkeypatch):
    import ml.artifacts as artifacts_module

    monkeypatch.setattr(artifacts_module, "openvino_available", lambda: False)
    for variant in ("openvino", "openvino-bf16"):
        artifacts = ArtifactSet(variant, f"all-MiniLM-L6-v2/{variant}/seq128", *[None] * 3, "x")
        encoder = artifacts.encoder()
        assert (encoder.variant, encoder.max_seq_length) == ("fp32", 128)


def test_the_encoder_of_a_set_keeps_its_converted_model_where_the_app_says(tmp_path):
    artifacts = ArtifactSet("openvino-bf16", "all-MiniLM-L6-v2/openvino-bf16/seq256",
                            *[None] * 3, "x", encoder_cache_dir=tmp_path)  # fmt: skip
    assert artifacts.encoder().cache_dir == tmp_path
