import numpy as np
import pytest

from ml import encoder as encoder_module
from ml.encoder import (
    EMBEDDING_DIM,
    MIN_COSINE,
    EncoderUnavailable,
    TextEncoder,
    candidate_variants,
    choose_variant,
    cpu_description,
    measure_variants,
    paper_text,
    resolve_variant,
)

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


def test_auto_is_an_exact_variant_and_unavailable_ones_are_refused(monkeypatch):
    monkeypatch.setattr(encoder_module, "openvino_available", lambda: False)
    monkeypatch.setattr(encoder_module, "cpu_has_native_bf16", lambda: True)
    assert resolve_variant("auto") == "fp32"  # bf16 only by measurement, never by default
    for variant in ("openvino", "openvino-bf16"):
        with pytest.raises(EncoderUnavailable):
            resolve_variant(variant)
    with pytest.raises(ValueError, match="unknown encoder variant"):
        resolve_variant("fp8")
    monkeypatch.setattr(encoder_module, "openvino_available", lambda: True)
    assert resolve_variant("auto") == "openvino"


def test_candidates_time_bf16_only_where_the_cpu_has_it(monkeypatch):
    monkeypatch.setattr(encoder_module, "openvino_available", lambda: True)
    monkeypatch.setattr(encoder_module, "cpu_has_native_bf16", lambda: False)
    assert candidate_variants() == ["fp32", "openvino"]
    monkeypatch.setattr(encoder_module, "cpu_has_native_bf16", lambda: True)
    assert candidate_variants() == ["fp32", "bf16", "openvino", "openvino-bf16"]


def test_the_fastest_variant_that_matches_fp32_is_chosen():
    measured = {
        "fp32": {"papers_per_s": 30.0, "cos_to_fp32_min": 1.0},
        "int8": {"papers_per_s": 90.0, "cos_to_fp32_min": 0.87},  # fastest, but drifts
        "openvino": {"papers_per_s": 40.0, "cos_to_fp32_min": 1.0},
        "openvino-bf16": {"papers_per_s": 70.0, "cos_to_fp32_min": MIN_COSINE + 1e-5},
    }
    assert choose_variant(measured) == "openvino-bf16"
    measured["openvino-bf16"]["cos_to_fp32_min"] = MIN_COSINE - 1e-4
    assert choose_variant(measured) == "openvino"
    assert choose_variant({"int8": measured["int8"]}) == "fp32"


def test_measuring_nothing_is_refused():
    with pytest.raises(ValueError, match="non-empty texts"):
        measure_variants(["", None])


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
def test_openvino_bulk_encoding_keeps_each_text_in_its_row():
    """Many batches in flight at once (the throughput path) give what one text at a time gives."""
    if not encoder_module.openvino_available():
        pytest.skip("openvino is not installed")
    texts = [f"{topic} for {field}" for topic in ("Sparse attention", "Graph kernels",
             "Bayesian optimisation") for field in ("vision", "speech", "proteins")]  # fmt: skip
    encoder = TextEncoder("openvino", batch_size=2)
    bulk = encoder.encode(texts)
    one_by_one = np.vstack([encoder.encode([text]) for text in texts])
    assert len(set(texts)) == len(texts) == bulk.shape[0]
    assert np.abs(bulk - one_by_one).max() < 1e-4


@pytest.mark.slow
def test_openvino_matches_fp32(fp32):
    if not encoder_module.openvino_available():
        pytest.skip("openvino is not installed")
    texts = [t for t in BAD_TEXTS if t] + ["Sparse attention for long documents."]
    ov = TextEncoder("openvino", batch_size=4).encode(texts)
    cosines = (ov * fp32.encode(texts)).sum(axis=1)
    assert cosines.min() > 0.9999


@pytest.mark.slow
def test_a_converted_model_is_read_from_the_cache_not_converted_again(tmp_path, monkeypatch):
    if not encoder_module.openvino_available():
        pytest.skip("openvino is not installed")
    texts = ["Sparse attention for long documents.", "Graph neural networks for molecules."]
    first = TextEncoder("openvino", cache_dir=tmp_path).encode(texts)
    assert list(tmp_path.glob("*/model.xml"))

    def no_conversion(self):
        raise AssertionError("converted again")

    monkeypatch.setattr(TextEncoder, "_convert", no_conversion)
    again = TextEncoder("openvino", cache_dir=tmp_path).load()
    np.testing.assert_allclose(again.encode(texts), first, atol=1e-6)
    # The bf16 variant compiles the same converted model with another precision hint.
    bf16 = TextEncoder("openvino-bf16", cache_dir=tmp_path).encode(texts)
    assert (bf16 * first).sum(axis=1).min() > 0.999


@pytest.mark.slow
def test_measuring_reports_speed_and_agreement_of_each_variant(tmp_path):
    texts = ["Sparse attention for long documents.", "Graph neural networks for molecules."] * 3
    measured = measure_variants(texts, ["int8"], rounds=2, cache_dir=tmp_path)
    assert set(measured) == {"fp32", "int8"}
    assert measured["fp32"]["cos_to_fp32_min"] > 0.99999
    assert measured["int8"]["cos_to_fp32_min"] < measured["fp32"]["cos_to_fp32_min"]
    assert all(m["papers_per_s"] > 0 and m["load_s"] >= 0 for m in measured.values())


def test_encoder_id_names_model_variant_and_length():
    enc = TextEncoder("fp32", max_seq_length=128)
    assert enc.encoder_id_ == "all-MiniLM-L6-v2/fp32/seq128"


CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu avx512f avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8

processor\t: 1
model name\t: Intel(R) Xeon(R) Platinum 8480+
"""


def test_the_cpu_description_names_the_model_and_its_matrix_units():
    cpu = cpu_description(CPUINFO)
    assert cpu == {
        "model": "Intel(R) Xeon(R) Platinum 8480+",
        "family": "6",
        "flags": ["avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8"],
    }


def test_a_cpu_without_bf16_or_matrix_units_lists_no_such_flags():
    plain = CPUINFO.replace("avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8", "sse2")
    assert cpu_description(plain)["flags"] == []
