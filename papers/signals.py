"""Signals other apps listen to, so ingestion need not know who consumes its papers."""

from django.dispatch import Signal

# Sent after a transaction that added or changed papers has committed.
# Keyword argument: arxiv_ids (list[str]). The search app queues indexing, the ML code enrichment.
papers_changed = Signal()

# Sent after papers were deleted. Keyword argument: arxiv_ids (list[str]).
papers_deleted = Signal()


def announce_changed(arxiv_ids: list[str], sender: object = None) -> None:
    """Tell listeners about changed papers once the current transaction commits."""
    if not arxiv_ids:
        return
    from django.db import transaction

    ids = list(arxiv_ids)
    transaction.on_commit(lambda: papers_changed.send(sender=sender, arxiv_ids=ids))
