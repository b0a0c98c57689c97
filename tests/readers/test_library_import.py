"""Bring your library: BibTeX, Zotero exports and id lists become stars; misses are listed."""

import json

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from papers.ingest.upsert import upsert_records
from papers.library.models import Mark
from papers.models import IngestionRun, Paper
from papers.readers.library_import import LibraryFileError, read_references
from papers.readers.models import LibraryImport
from tests.papers.conftest import API_URL, feed
from tests.papers.factories import record

pytestmark = pytest.mark.django_db


@pytest.fixture
def papers():
    upsert_records(
        [
            record(arxiv_id="2605.00601", title="Diffusion models for proteins", doi="10.1000/p1"),
            record(arxiv_id="2605.00602", title="Language models that plan"),
            record(arxiv_id="hep-th/9901001", title="Strings, old style"),
            record(arxiv_id="2605.00604", title="Not in anyone's library"),
        ]
    )
    return {p.arxiv_id: p for p in Paper.objects.all()}


def _reader(name: str) -> tuple[User, Client]:
    user = User.objects.create_user(name, password="pw")
    client = Client()
    client.force_login(user)
    return user, client


def _stars(user) -> set[str]:
    return set(
        Mark.objects.filter(user=user, kind="star").values_list("paper__arxiv_id", flat=True)
    )


def _upload(client, name: str, content: str):
    file = SimpleUploadedFile(name, content.encode(), content_type="application/octet-stream")
    return client.post("/library/import", {"file": file})


def test_an_exported_bibtex_library_imported_into_a_new_account_gives_the_same_stars(papers):
    ann, ann_client = _reader("ann")
    for arxiv_id in ("2605.00601", "2605.00602", "hep-th/9901001"):
        Mark.objects.create(user=ann, paper=papers[arxiv_id], kind="star")
    exported = ann_client.get("/library/export.bib").content.decode()
    bob, bob_client = _reader("bob")
    response = _upload(bob_client, "library.bib", exported)
    assert response.status_code == 200
    assert _stars(bob) == _stars(ann) == {"2605.00601", "2605.00602", "hep-th/9901001"}
    assert "3 matched (3 new stars), 0 not found" in response.content.decode()


def test_a_broken_bibtex_entry_is_reported_with_its_line_and_the_others_still_import(papers):
    bob, client = _reader("bob")
    text = (
        "@article{good, title={Whatever}, eprint={2605.00601}, archivePrefix={arXiv}}\n"
        "@article{broken, title={Never closed\n"
        "@misc{doi, title={By DOI}, doi={https://doi.org/10.1000/P1}}\n"
        "@misc{titled, title={{Language} Models that {plan}}}\n"
    )
    page = _upload(client, "refs.bib", text).content.decode()
    assert "line 2: cannot read the entry" in page
    assert "@article{broken" in page
    assert _stars(bob) == {"2605.00601", "2605.00602"}
    assert "by title" in page


def test_a_bibtex_file_with_no_readable_entry_is_a_clear_error_and_stars_nothing(papers):
    bob, client = _reader("bob")
    response = _upload(client, "broken.bib", "@article{broken, title={Never closed\n")
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was imported: no entry could be read (line 1: cannot read the entry" in page
    assert not _stars(bob)


def test_a_list_of_ids_and_dois_lists_unknown_ids_and_unreadable_lines(papers):
    bob, client = _reader("bob")
    text = (
        "# my reading list\n"
        "arXiv:2605.00602v2\n"
        "https://arxiv.org/abs/hep-th/9901001\n"
        "doi:10.1000/p1\n"
        "2605.99999\n"
        "hello world\n"
    )
    response = client.post("/library/import", {"text": text})
    page = response.content.decode()
    assert _stars(bob) == {"2605.00602", "hep-th/9901001", "2605.00601"}
    assert "arXiv:2605.99999 is not in this database" in page
    assert "line 6: not an arXiv id or DOI: &#x27;hello world&#x27;" in page
    assert "not fetched" in page
    assert not IngestionRun.objects.exists()


def test_a_zotero_csl_json_export_matches_by_arxiv_number_doi_and_title(papers):
    bob, client = _reader("bob")
    items = [
        {"id": "a", "type": "article", "title": "X", "number": "arXiv:2605.00602"},
        {"id": "b", "type": "article-journal", "title": "Y", "DOI": "10.1000/p1"},
        {"id": "c", "type": "article", "title": "Strings, old style"},
        {"id": "d", "type": "book", "title": "A book we do not have"},
    ]
    page = _upload(client, "zotero.json", json.dumps(items)).content.decode()
    assert _stars(bob) == {"2605.00602", "2605.00601", "hep-th/9901001"}
    assert "A book we do not have</strong>: no arXiv id or DOI" in page


ZOTERO_RDF = """<rdf:RDF
 xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
 xmlns:z="http://www.zotero.org/namespaces/export#"
 xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:dcterms="http://purl.org/dc/terms/"
 xmlns:bib="http://purl.org/net/biblio#">
    <bib:Article rdf:about="http://arxiv.org/abs/2605.00602v1">
        <z:itemType>preprint</z:itemType>
        <dcterms:isPartOf><bib:Journal><dc:title>arXiv</dc:title></bib:Journal></dcterms:isPartOf>
        <dc:title>Some title</dc:title>
        <dc:identifier>DOI 10.48550/arXiv.2605.00602</dc:identifier>
    </bib:Article>
    <bib:Article rdf:about="#item_2">
        <dc:title>Diffusion models for proteins</dc:title>
    </bib:Article>
    <z:Attachment rdf:about="#item_3"><dc:title>arXiv Fulltext PDF</dc:title></z:Attachment>
</rdf:RDF>
"""


def test_a_zotero_rdf_export_matches_by_its_arxiv_url_and_by_title(papers):
    bob, client = _reader("bob")
    page = _upload(client, "zotero.rdf", ZOTERO_RDF).content.decode()
    assert _stars(bob) == {"2605.00602", "2605.00601"}
    assert "2 matched" in page and "0 not found" in page


def test_malformed_json_and_xml_are_clear_errors():
    with pytest.raises(LibraryFileError, match="not valid JSON"):
        read_references('[{"title": ')
    with pytest.raises(LibraryFileError, match="not valid XML"):
        read_references("<rdf:RDF><unclosed>")
    with pytest.raises(LibraryFileError, match="empty"):
        read_references("  \n")


def test_an_empty_form_and_a_binary_file_are_refused_with_the_reason(papers):
    _, client = _reader("bob")
    response = client.post("/library/import", {"text": ""})
    assert response.status_code == 400
    assert "choose a file or paste references" in response.content.decode()
    file = SimpleUploadedFile("x.bib", b"\xff\xfe\x00\x81garbage")
    response = client.post("/library/import", {"file": file})
    assert response.status_code == 400 and "x.bib is not UTF-8 text" in response.content.decode()


def test_pasted_text_is_kept_in_the_form_after_an_error(papers):
    _, client = _reader("bob")
    page = client.post("/library/import", {"text": "nothing useful"}).content.decode()
    assert "nothing useful</textarea>" in page


def test_the_import_page_needs_a_login(db):
    assert Client().get("/library/import").status_code == 302


def test_imported_stars_seed_for_you_at_once(papers):
    bob, client = _reader("bob")
    client.post("/library/import", {"text": "2605.00601\n2605.00602\n"})
    page = client.get("/for-you").content.decode()
    assert "Learned from your stars" in page
    assert "Diffusion models for proteins" in page


def test_importing_a_star_clears_a_not_interested_mark(papers):
    bob, client = _reader("bob")
    Mark.objects.create(user=bob, paper=papers["2605.00601"], kind="not_interested")
    client.post("/library/import", {"text": "2605.00601"})
    kinds = set(Mark.objects.filter(user=bob).values_list("kind", flat=True))
    assert kinds == {"star"}


def test_missing_papers_are_fetched_from_arxiv_when_the_admin_allows_it(
    papers, settings, respx_mock, django_capture_on_commit_callbacks
):
    settings.LIBRARY_IMPORT_FETCH_FROM_ARXIV = True
    settings.ARXIV_MIN_INTERVAL = 0
    respx_mock.get(API_URL, params={"id_list": "2104.12255"}).respond(
        200, content=feed("api/id_2104.12255v1_s0_m100.xml")
    )
    bob, client = _reader("bob")
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post("/library/import", {"text": "2104.12255\n2605.00601"}).content
    assert "being fetched from arXiv" in page.decode()
    run = IngestionRun.objects.get()
    assert (run.source, run.parameters["id_list"], run.status) == (
        "api",
        ["2104.12255"],
        "succeeded",
    )
    assert LibraryImport.objects.get().starred == 1
    assert _stars(bob) == {"2605.00601", "2104.12255"}
