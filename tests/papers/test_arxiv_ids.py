import pytest

from papers.arxiv_ids import InvalidArxivId, is_arxiv_id, normalize_arxiv_id, parse_arxiv_id


@pytest.mark.parametrize(
    ("text", "canonical", "version"),
    [
        ("2505.24119", "2505.24119", None),
        ("2505.24119v3", "2505.24119", 3),
        ("arXiv:2505.24119v2", "2505.24119", 2),
        ("0704.0001", "0704.0001", None),
        ("1412.8544", "1412.8544", None),
        ("hep-th/9901001", "hep-th/9901001", None),
        ("quant-ph/0201082v1", "quant-ph/0201082", 1),
        ("math.GT/0309136", "math/0309136", None),
        ("https://arxiv.org/abs/hep-th/9901001v1", "hep-th/9901001", 1),
        ("http://arxiv.org/api/2104.12255v1", "2104.12255", 1),
        ("https://arxiv.org/pdf/2505.24119v1.pdf", "2505.24119", 1),
        ("  2505.24119  ", "2505.24119", None),
    ],
)
def test_it_normalises_the_forms_arxiv_ids_come_in(text, canonical, version):
    assert parse_arxiv_id(text) == (canonical, version)


@pytest.mark.parametrize("text", ["", "abc", "2505.241", "12345.6789", "2505.24119x", "hep-th/99"])
def test_it_rejects_text_that_is_not_an_arxiv_id(text):
    assert not is_arxiv_id(text)
    with pytest.raises(InvalidArxivId):
        normalize_arxiv_id(text)
