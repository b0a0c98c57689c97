import numpy as np
import pytest

from ml.recommend import PaperRecommender


def _unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture
def clusters():
    rng = np.random.default_rng(0)
    centres = _unit(rng.normal(size=(3, 16)))

    def sample(c, n):
        return _unit(centres[c] + 0.3 * rng.normal(size=(n, 16)))

    return sample


def test_it_ranks_papers_like_the_starred_ones_first(clusters):
    starred, disliked, background = (
        clusters(0, 5),
        clusters(1, 5),
        np.vstack([clusters(1, 20), clusters(2, 20)]),
    )
    model = PaperRecommender().fit(starred, [f"s{i}" for i in range(5)], disliked, background)
    candidates = np.vstack([clusters(2, 10), clusters(0, 10), clusters(1, 10)])
    ids = [f"c{i}" for i in range(30)]
    top = model.recommend(candidates, ids, top_n=10)
    assert {r.paper_id for r in top} == {f"c{i}" for i in range(10, 20)}
    assert all(r.score > 0 for r in top)


def test_each_pick_is_explained_by_its_nearest_starred_papers(clusters):
    starred = np.vstack([clusters(0, 2), clusters(2, 2)])
    model = PaperRecommender(n_explanations=2).fit(
        starred, ["a0", "a1", "b0", "b1"], None, clusters(1, 30)
    )
    pick = clusters(2, 1)[0]
    because = model.explain(pick)
    assert {pid for pid, _ in because} == {"b0", "b1"}
    assert because[0][1] >= because[1][1]


def test_starred_and_excluded_papers_are_not_recommended(clusters):
    starred = clusters(0, 3)
    model = PaperRecommender().fit(starred, ["s0", "s1", "s2"], clusters(1, 3), clusters(2, 10))
    candidates = np.vstack([starred, clusters(0, 3)])
    ids = ["s0", "s1", "s2", "n0", "n1", "n2"]
    picked = [r.paper_id for r in model.recommend(candidates, ids, top_n=10, exclude=["n1"])]
    assert picked == [p for p in picked if p in {"n0", "n2"}] and len(picked) == 2


def test_it_needs_stars_and_something_to_contrast(clusters):
    with pytest.raises(ValueError):
        PaperRecommender().fit(np.zeros((0, 16)), [], clusters(1, 3))
    with pytest.raises(ValueError):
        PaperRecommender().fit(clusters(0, 2), ["a", "b"])


def test_heavier_stars_pull_the_ranking_toward_them(clusters):
    starred = np.vstack([clusters(0, 3), clusters(2, 3)])
    ids = ["a0", "a1", "a2", "b0", "b1", "b2"]
    background = clusters(1, 40)
    near_a, near_b = clusters(0, 10), clusters(2, 10)

    def lead_of_a(weights):
        model = PaperRecommender().fit(starred, ids, None, background, positive_weights=weights)
        return model.decision_function(near_a).mean() - model.decision_function(near_b).mean()

    unweighted = lead_of_a(None)
    assert lead_of_a([1, 1, 1, 0.1, 0.1, 0.1]) > unweighted + 0.1
    assert lead_of_a([0.1, 0.1, 0.1, 1, 1, 1]) < unweighted - 0.1
    with pytest.raises(ValueError):
        lead_of_a([1, 1])
