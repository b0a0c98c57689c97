from collections import Counter

import numpy as np
import pytest

from ml.keywords import (
    Word2VecKeywords,
    duplicates,
    has_duplicates,
    overlapping,
    phrase_key,
    segments,
    tokenize,
    word_shapes,
)
from ml.versioning import REBUILD_COMMAND, ArtifactMissing

CORPUS = [
    "Graph neural networks learn node representations by message passing over edges.",
    "Convolutional neural networks classify images with learned filters.",
    "Message passing on molecular graphs predicts chemical properties.",
    "We study the convergence of stochastic gradient descent for deep networks.",
    "Transformers use attention to model long range dependencies in text.",
    "Attention mechanisms improve machine translation of long sentences.",
    "Quantum error correction protects qubits from decoherence.",
    "Surface codes are a leading approach to quantum error correction.",
] * 15


@pytest.fixture(scope="module")
def gensim_model():
    from gensim.models import Word2Vec

    sentences = [tokenize(t) for t in CORPUS]
    # sample=0: on a tiny corpus every word is "frequent" and would be downsampled away.
    return Word2Vec(sentences, sg=1, hs=1, negative=0, vector_size=12, window=3, min_count=1,
                    epochs=30, seed=1, workers=1, sample=0)  # fmt: skip


@pytest.fixture(scope="module")
def keywords(gensim_model):
    return Word2VecKeywords.from_gensim(
        gensim_model, CORPUS, stop_words=False, prior="none", max_phrase_words=1
    )


def test_tokens_skip_latex_and_split_at_punctuation():
    assert tokenize(r"Bounds of $\mathcal{O}(n^2)$ via \emph{sketching}, fast.") == [
        "bounds", "of", "via", "sketching", "fast",
    ]  # fmt: skip
    assert segments("graph networks, for molecules") == [
        ["graph", "networks"],
        ["for", "molecules"],
    ]


def test_tokens_keep_digits_hyphens_and_short_inline_math_inside_words():
    text = r"3D pose with GPT-4, $k$-means and text-to-speech in 2024 via \textbf{Erd\H{o}s} $\pi$"
    assert segments(text) == [
        ["3d", "pose", "with", "gpt-4"],
        ["k-means", "and", "text-to-speech", "in"],  # a bare number ends a run
        ["via"],
        ["erdos"],
    ]


def test_word_shapes_count_verb_like_and_run_ending_uses():
    shapes = word_shapes(
        [
            "The model improves the accuracy of graph networks.",
            "Attention improves its recall; neural networks. We rely on it.",
        ]
    )
    assert shapes["rely"][:2] == (1, 1)  # after a subject
    seen, verb_place, run_end, after_determiner = shapes["improves"]
    assert (seen, verb_place, after_determiner) == (2, 2, 0)
    assert shapes["networks"] == (2, 0, 2, 0)
    assert shapes["accuracy"][3] == 1
    assert shapes["neural"][2] == 0  # always followed by another content word


def test_phrases_containing_one_another_overlap_after_stemming():
    assert overlapping(phrase_key("speculative decoding"),
                       phrase_key("accelerating speculative decoding"))  # fmt: skip
    assert overlapping(phrase_key("graph network"), phrase_key("graph networks"))
    assert not overlapping(phrase_key("graph networks"), phrase_key("neural networks graph"))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("speculative decoding", "accelerating speculative decoding"),
        ("speech", "text-to-speech"),  # a hyphenated compound counts its parts
        ("text-to-speech", "text-to-speech synthesis"),
        ("gpt", "gpt-4"),
        ("gpt-4", "gpt-4 evaluation"),
        ("3d", "3d pose estimation"),
        ("k-means", "k-means clustering"),
        ("graph network", "graph networks"),  # after stemming
        ("Graph Networks", "graph networks"),
    ],
)
def test_a_phrase_inside_another_duplicates_it_both_ways(a, b):
    assert duplicates(a, b) and duplicates(b, a)
    assert has_duplicates(["quantum codes", a, b]) and has_duplicates([b, "quantum codes", a])


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("neural networks", "network pruning"),  # they overlap, neither holds the other
        ("3d", "d pose estimation"),  # "3d" is one part, not "d"
        ("gpt-4", "gpt-40"),
        ("gpt-4", "4d"),
        ("text-to-speech", "speech-to-text"),  # same parts, another order
        ("net", "network pruning"),  # a piece of a word is no word part
        ("pose estimation", ""),  # an empty phrase repeats nothing
    ],
)
def test_phrases_that_only_share_words_are_not_duplicates(a, b):
    assert not duplicates(a, b) and not duplicates(b, a)
    assert not has_duplicates([a, b])


def test_conditional_probabilities_sum_to_one_over_the_vocabulary(keywords):
    n = len(keywords.vocabulary_)
    probs = np.exp(keywords.log_prob_matrix(range(n), range(n)))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_pair_log_probabilities_match_gensims_own_score():
    from gensim.models import Word2Vec

    sentences = [tokenize(t) for t in CORPUS]
    model = Word2Vec(sentences, sg=1, hs=1, negative=0, vector_size=12, window=3, min_count=1,
                     epochs=2, seed=2, workers=1, sample=0)  # fmt: skip
    keywords = Word2VecKeywords.from_gensim(model)
    # gensim's score() drops node terms with |x.theta| >= 6; a lightly trained model has none.
    assert np.abs(keywords.vectors_ @ keywords.syn1_.T).max() < 6
    index = {w: i for i, w in enumerate(keywords.vocabulary_)}
    pairs = [("graph", "neural"), ("quantum", "qubits"), ("attention", "graph"), ("codes", "codes")]
    for a, b in pairs:
        ia, ib = index[a], index[b]
        m = keywords.log_prob_matrix([ia, ib], [ia, ib])
        ours = m[0, 1] + m[1, 0]  # gensim scores both directions of a two-word window
        theirs = float(model.score([[a, b]], total_sentences=1)[0])
        nodes = len(model.wv.get_vecattr(a, "point")) + len(model.wv.get_vecattr(b, "point"))
        # gensim reads log sigmoid from a 1000-entry table: allow its rounding per node.
        assert ours == pytest.approx(theirs, abs=0.02 * nodes)
        assert abs(ours - theirs) < 0.1 * abs(theirs)


def test_pair_log_probability_follows_the_huffman_path_formula(gensim_model, keywords):
    wv = gensim_model.wv
    given, target = "message", "passing"
    x = wv[given]
    expected = 0.0
    for node, bit in zip(
        wv.get_vecattr(target, "point"), wv.get_vecattr(target, "code"), strict=True
    ):
        dot = float(x @ gensim_model.syn1[node])
        expected -= np.logaddexp(0, -dot) + bit * dot
    got = keywords.log_prob_matrix([wv.key_to_index[given]], [wv.key_to_index[target]])[0, 0]
    assert got == pytest.approx(expected, rel=1e-5)


def test_text_score_is_the_sum_of_pair_log_probabilities(keywords):
    text = "graph neural networks learn graph representations"
    ids = [keywords.vocabulary_.index(t) for t in tokenize(text)]
    unique, scores = keywords.text_log_likelihood(ids)
    pairs = keywords.log_prob_matrix(unique, ids)
    np.testing.assert_allclose(scores, pairs.sum(axis=1), rtol=1e-6)


def test_one_repeated_word_ranks_first(keywords):
    text = "decoherence decoherence decoherence decoherence"
    for variant in (
        dict(max_phrase_words=1),
        dict(max_phrase_words=3, stop_words=True, prior="idf"),
    ):
        keywords.set_params(**variant)
        assert [k for k, _ in keywords.extract(text, top_n=3)] == ["decoherence"]
    keywords.set_params(stop_words=False, prior="none", max_phrase_words=1)


def test_keywords_and_phrases_are_words_of_the_text(keywords):
    text = "Message passing graph neural networks for molecular property prediction."
    words = set(tokenize(text))
    for variant in (
        dict(max_phrase_words=1),
        dict(max_phrase_words=3, stop_words=True, prior="idf"),
    ):
        keywords.set_params(**variant)
        found = keywords.extract(text, top_n=10)
        assert found
        for phrase, _ in found:
            assert phrase in " ".join(tokenize(text))
            assert set(phrase.split()) <= words
    keywords.set_params(stop_words=False, prior="none", max_phrase_words=1)


@pytest.fixture(scope="module")
def shaped(gensim_model):
    """Shipped scoring (phrases, term shapes, diversity) on the small model."""
    return Word2VecKeywords.from_gensim(gensim_model, CORPUS)


def test_top_phrases_never_contain_one_another(shaped):
    text = " ".join(CORPUS[:8])
    found = [k for k, _ in shaped.extract(text, top_n=10)]
    assert len(found) >= 5
    pairs = [(a, b) for i, a in enumerate(found) for b in found[i + 1 :] if duplicates(a, b)]
    assert pairs == []


SPEECH = [
    "Text-to-speech systems turn written text into natural speech.",
    "Speech recognition and text-to-speech share acoustic models of speech.",
    "GPT-4 answers questions; GPT models write text for speech synthesis.",
    "We train 3D pose estimation from 3D scans and speech.",
] * 15


@pytest.fixture(scope="module")
def speech_model():
    from gensim.models import Word2Vec

    corpus = CORPUS + SPEECH
    sentences = [tokenize(t) for t in corpus]
    model = Word2Vec(sentences, sg=1, hs=1, negative=0, vector_size=12, window=3, min_count=1,
                     epochs=30, seed=1, workers=1, sample=0)  # fmt: skip
    return Word2VecKeywords.from_gensim(model, corpus)


@pytest.mark.parametrize("mmr", [1.0, 0.7])
def test_a_keyword_never_repeats_part_of_a_better_hyphenated_one(speech_model, mmr):
    shipped = speech_model.get_params()
    speech_model.set_params(mmr=mmr, max_phrase_words=1, term_shape=False)
    try:
        text = " ".join(SPEECH[:4])
        scores = speech_model.word_scores(text)
        found = [k for k, _ in speech_model.extract(text, top_n=len(scores))]
    finally:
        speech_model.set_params(**shipped)
    assert {"text-to-speech", "speech", "text", "gpt-4", "gpt", "3d"} <= set(scores)
    assert len(found) >= 5 and not has_duplicates(found)
    for compound, part in [("text-to-speech", "speech"), ("text-to-speech", "text"),
                           ("gpt-4", "gpt")]:  # fmt: skip
        better, worse = sorted([compound, part], key=lambda w: -scores[w])
        if mmr == 1.0:  # ranked by score alone: the better of the two stays
            assert better in found and worse not in found
        else:
            assert not {compound, part} <= set(found)


def test_verb_like_words_and_run_inner_adjectives_make_no_phrase(shaped):
    text = "Message passing predicts chemical properties of molecular graphs."
    found = [k for k, _ in shaped.extract(text, top_n=20)]
    assert found
    assert not [k for k in found if "predicts" in k.split()]  # "predicts chemical..." is a verb
    unshaped = shaped.set_params(term_shape=False).extract(text, top_n=20)
    shaped.set_params(term_shape=True)
    assert any("predicts" in k.split() for k, _ in unshaped)  # the filter is what removed it


def test_a_long_text_is_scored_on_its_first_words_only(shaped):
    rng = np.random.default_rng(0)
    words = " ".join(CORPUS).replace(".", "").split()
    text = " ".join(rng.choice(words, size=8_000))  # a full paper's length
    found = shaped.extract(text, top_n=10)
    assert found
    head = " ".join(text.split()[: shaped.max_words])
    assert found == shaped.extract(head, top_n=10)


def test_a_full_paper_keeps_the_phrases_of_its_head_whatever_follows(shaped):
    head = " ".join(CORPUS[:6])  # graphs, networks, attention
    tail = " ".join(CORPUS[6:8]) * 400  # 8,000 words of quantum error correction
    bound = len(tokenize(head))
    shaped.set_params(max_words=bound)
    try:
        found = shaped.extract(head + " " + tail, top_n=10)
        unbounded = shaped.set_params(max_words=10**9).extract(head + " " + tail, top_n=10)
    finally:
        shaped.set_params(max_words=512)
    assert found == shaped.set_params(max_words=bound).extract(head, top_n=10)
    shaped.set_params(max_words=512)
    tail_only = set(tokenize(tail)) - set(tokenize(head))
    assert not [k for k, _ in found if tail_only & set(k.split())]
    assert [k for k, _ in unbounded if tail_only & set(k.split())]  # the bound is what kept it


def test_stop_words_are_left_out_when_asked(keywords):
    keywords.set_params(stop_words=True)
    try:
        found = [k for k, _ in keywords.extract("the networks of the graph are in the text", 10)]
    finally:
        keywords.set_params(stop_words=False)
    assert found and not {"the", "of", "are", "in"} & set(found)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "$$x^2$$ \\alpha",
        "Графовые нейронные сети 图神经网络",
        "networks " * 20_000,
        None,
    ],
)
def test_bad_inputs_never_crash(keywords, text):
    found = keywords.extract(text, top_n=5)
    assert len(found) <= 5
    for phrase, score in found:
        assert phrase in (text or "").lower() and np.isfinite(score)


@pytest.mark.slow
def test_fit_save_load_round_trip(tmp_path):
    model = Word2VecKeywords(vector_size=8, epochs=3, workers=1, min_count=1).fit(CORPUS)
    model.save(tmp_path / "kw")
    loaded = Word2VecKeywords.load(tmp_path / "kw")
    text = CORPUS[0]
    assert loaded.extract(text) == model.extract(text)
    assert loaded.get_params() == model.get_params()
    assert Counter(loaded.vocabulary_) == Counter(model.vocabulary_)
    with pytest.raises(ArtifactMissing, match=REBUILD_COMMAND):
        Word2VecKeywords.load(tmp_path / "elsewhere")


def test_a_loaded_model_scores_with_the_codes_parameters_not_the_saved_ones(tmp_path):
    model = Word2VecKeywords(vector_size=8, epochs=2, workers=1, min_count=1).fit(CORPUS)
    model.set_params(max_phrase_words=1, mmr=0.5).save(tmp_path / "kw")
    loaded = Word2VecKeywords.load(tmp_path / "kw")
    shipped = Word2VecKeywords().get_params()
    assert loaded.max_phrase_words == shipped["max_phrase_words"] and loaded.mmr == shipped["mmr"]
    assert (loaded.vector_size, loaded.epochs, loaded.min_count) == (8, 2, 1)  # as trained
    model.set_params(max_phrase_words=shipped["max_phrase_words"], mmr=shipped["mmr"])
    assert loaded.extract(CORPUS[1]) == model.extract(CORPUS[1])


def test_fit_rejects_a_corpus_without_words():
    with pytest.raises(ValueError):
        Word2VecKeywords().fit(["", "$x$", "123"])
