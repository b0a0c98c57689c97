import numpy as np
import pytest

from ml import encoder as encoder_module
from ml.encoder import EMBEDDING_DIM, EncoderUnavailable, TextEncoder, paper_text, resolve_variant

BAD_TEXTS = [
    "",
    None,
    "   \n\t ",
    r"$\mathcal{O}(n \log n)$ \begin{align} \sum_{i=1}^{N} \alpha_i \end{align} \cite{x}",
    "Графовые нейронные сети обучают представления узлов. 图神经网络学习节点表示。",
    "word " * 50_000,
]


def test_paper_text_joins_title_and_abstract():
    assert paper_text("  A  title ", "An\nabstract.") == "A title. An abstract."
    assert paper_text(None, "Only abstract") == "Only abstract"
    assert paper_text("", "") == ""


def test_auto_falls_back_to_fp32_without_openvino_or_native_bf16(monkeypatch):
    monkeypatch.setattr(encoder_module, "openvino_available", lambda: False)
    monkeypatch.setattr(encoder_module, "cpu_has_native_bf16", lambda: False)
    assert resolve_variant("auto") == "fp32"
    monkeypatch.setattr(encoder_module, "cpu_has_native_bf16", lambda: True)
    assert resolve_variant("auto") == "bf16"
    with pytest.raises(EncoderUnavailable):
        resolve_variant("openvino")
    with pytest.raises(ValueError):
        resolve_variant("int8")


@pytest.fixture(scope="module")
def fp32():
    return TextEncoder("fp32", batch_size=8)


@pytest.mark.slow
def test_it_encodes_bad_inputs_to_unit_vectors(fp32):
    vectors = fp32.encode(BAD_TEXTS)
    assert vectors.shape == (len(BAD_TEXTS), EMBEDDING_DIM) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert fp32.encode([]).shape == (0, EMBEDDING_DIM)


@pytest.mark.slow
def test_long_texts_are_truncated_not_rejected(fp32):
    head = "Graph neural networks for molecules. " * 60  # > 256 word pieces
    vectors = fp32.encode([head, head + "unrelated tail about cooking pasta. " * 500])
    # Everything past max_seq_length word pieces is cut, so the tail changes nothing.
    assert float(vectors[0] @ vectors[1]) > 0.999


@pytest.mark.slow
def test_similar_papers_are_closer_than_unrelated_ones(fp32):
    v = fp32.encode([
        "Graph neural networks predict molecular properties.",
        "Message passing networks on molecule graphs for chemistry.",
        "A survey of medieval European trade routes.",
    ])  # fmt: skip
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2


@pytest.mark.slow
def test_openvino_matches_fp32(fp32):
    if not encoder_module.openvino_available():
        pytest.skip("openvino is not installed")
    texts = [t for t in BAD_TEXTS if t] + ["Sparse attention for long documents."]
    ov = TextEncoder("openvino", batch_size=4).encode(texts)
    cosines = (ov * fp32.encode(texts)).sum(axis=1)
    assert cosines.min() > 0.9999


def test_encoder_id_names_model_variant_and_length():
    enc = TextEncoder("fp32", max_seq_length=128)
    assert enc.encoder_id_ == "all-MiniLM-L6-v2/fp32/seq128"
