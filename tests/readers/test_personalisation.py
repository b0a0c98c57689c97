"""For you shows what it learnt; stars can stop counting; not-interested marks can be reset."""

import datetime as dt

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from papers.enrichment.for_you import learnt_phrases, recommend_for, star_weights
from papers.ingest.upsert import upsert_records
from papers.library.models import Mark
from papers.models import Paper
from papers.readers.models import MutedSeed
from tests.papers.factories import record

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader():
    user = User.objects.create_user("ann", password="pw")
    client = Client()
    client.force_login(user)
    return user, client


def test_a_star_counts_half_as_much_after_each_half_life(settings):
    settings.RECOMMENDATION_STAR_HALF_LIFE_DAYS = 30
    now = timezone.now()
    marks = [Mark(created=now), Mark(created=now - dt.timedelta(days=30))]
    marks.append(Mark(created=now - dt.timedelta(days=90)))
    assert star_weights(marks, now) == pytest.approx([1.0, 0.5, 0.125])


def test_learnt_phrases_weigh_recent_stars_and_subtract_not_interested_papers():
    seeds = [
        Paper(keywords=["graph neural networks", "molecules"]),
        Paper(keywords=["graph neural networks", "large language models"]),
    ]
    negatives = [Paper(keywords=["large language models", "chatbots"])]
    liked, disliked = learnt_phrases(seeds, np.array([1.0, 0.5]), negatives)
    assert liked == ["graph neural networks", "molecules"]
    assert disliked == ["chatbots", "large language models"]


def test_reset_clears_every_not_interested_mark_and_keeps_stars(reader):
    user, client = reader
    upsert_records([record(arxiv_id=f"2605.0080{i}") for i in range(3)])
    papers = list(Paper.objects.order_by("arxiv_id"))
    Mark.objects.create(user=user, paper=papers[0], kind="star")
    for paper in papers[1:]:
        Mark.objects.create(user=user, paper=paper, kind="not_interested")
    page = client.get("/for-you").content.decode()
    assert "Reset 2 not-interested marks" in page
    response = client.post("/for-you/reset", follow=True)
    assert "Cleared 2 not-interested marks." in response.content.decode()
    assert list(Mark.objects.filter(user=user).values_list("kind", flat=True)) == ["star"]


def test_a_muted_star_stays_a_star_but_is_not_learnt_from(reader):
    user, client = reader
    upsert_records([record(arxiv_id="2605.00811", title="Muted paper")])
    paper = Paper.objects.get()
    Mark.objects.create(user=user, paper=paper, kind="star")
    page = client.post("/for-you/mute", {"paper": "2605.00811"}, follow=True).content.decode()
    assert "For you no longer learns from “Muted paper”." in page
    assert "not to learn from any of your stars" in page
    assert "Learn from this again" in page
    assert Mark.objects.filter(user=user, kind="star").exists()
    assert recommend_for(user).seeds == []
    client.post("/for-you/mute", {"paper": "2605.00811"})
    assert not MutedSeed.objects.exists()
    assert recommend_for(user).seeds == [paper]


def test_muting_an_unknown_paper_is_a_clear_error(reader):
    _, client = reader
    response = client.post("/for-you/mute", {"paper": "2605.99999"})
    assert response.status_code == 400
    assert "paper: no such paper &#x27;2605.99999&#x27;" in response.content.decode()
    assert client.post("/for-you/mute", {"paper": "not an id"}).status_code == 400


@pytest.mark.slow
def test_for_you_shows_what_it_learnt_and_muting_its_strongest_star_changes_the_picks(
    enriched, reader
):
    user, client = reader
    stars = list(enriched.filter(primary_category="cs.CV").order_by("pk")[:3])
    stars.append(enriched.filter(primary_category="cs.CL").order_by("pk").first())
    for paper in stars:
        Mark.objects.create(user=user, paper=paper, kind="star")
    disliked = enriched.filter(primary_category="math.AP").exclude(keywords=[]).first()
    if disliked is None:
        disliked = enriched.exclude(primary_category__in=["cs.CV", "cs.CL"]).first()
    Mark.objects.create(user=user, paper=disliked, kind="not_interested")
    result = recommend_for(user)
    assert result.picks and result.learnt.liked and result.learnt.disliked
    star_phrases = {k for p in stars for k in p.keywords}
    assert set(result.learnt.liked) <= star_phrases
    assert set(result.learnt.disliked) <= set(disliked.keywords) - star_phrases
    strongest = result.learnt.strongest[0][0]
    page = client.get("/for-you").content.decode()
    assert "What For you learnt" in page and result.learnt.liked[0] in page
    assert "Don&#x27;t learn from this" in page or "Don't learn from this" in page
    client.post("/for-you/mute", {"paper": strongest.arxiv_id})
    after = recommend_for(user)
    assert strongest not in after.seeds
    assert all(strongest not in [seed for seed, _ in pick.because] for pick in after.picks)
    assert [p.paper for p in after.picks] != [p.paper for p in result.picks]


@pytest.mark.slow
def test_recent_stars_outweigh_old_ones_in_the_ranking(enriched, reader):
    user, _ = reader
    old = list(enriched.filter(primary_category="cs.CV").order_by("pk")[:3])
    new = list(enriched.filter(primary_category="cs.CL").order_by("pk")[:3])
    for paper in old + new:
        Mark.objects.create(user=user, paper=paper, kind="star")
    year_ago = timezone.now() - dt.timedelta(days=365)
    Mark.objects.filter(paper__in=old).update(created=year_ago)
    top = [p.paper.primary_category_id for p in recommend_for(user, n=10).picks]
    assert top.count("cs.CL") > top.count("cs.CV")
