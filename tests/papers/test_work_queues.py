"""Each kind of background work has its own queue, and a worker takes from every queue in turn."""

import pytest
from django.conf import settings
from kombu import Connection, Exchange, Queue

from papers.celery import app


@pytest.mark.parametrize(
    "task, queue",
    [
        ("papers.tasks.ingest", "ingest"),
        ("papers.tasks.recover_runs", "ingest"),
        ("search.tasks.index_papers", "index"),
        ("papers.enrichment.tasks.enrich_papers", "enrich"),
        ("papers.enrichment.tasks.train_models", "enrich"),
        ("papers.readers.tasks.send_digests", "celery"),
    ],
)
def test_each_kind_of_work_is_routed_to_its_queue(task, queue):
    assert app.amqp.router.route({}, task)["queue"].name == queue


def test_a_worker_started_without_options_consumes_every_queue():
    assert set(app.amqp.queues) == {"ingest", "index", "enrich", "celery"}


def test_an_ingestion_queued_behind_many_enrichment_batches_is_taken_early(tmp_path):
    """On the embedded broker's files: the consumer cycles over queues, not over arrival order."""
    folder = str(tmp_path / "queue")
    options = {**settings.CELERY_BROKER_TRANSPORT_OPTIONS, "data_folder_in": folder,
               "data_folder_out": folder, "control_folder": str(tmp_path / "control"),
               "processed_folder": str(tmp_path / "processed")}  # fmt: skip
    exchange = Exchange("work", type="direct")
    queues = [Queue(name, exchange, routing_key=name) for name in ("ingest", "index", "enrich")]
    taken: list[str] = []
    with Connection(transport="papers.broker:Transport", transport_options=options) as conn:
        producer = conn.Producer()
        for n in range(30):
            producer.publish({"n": n}, exchange=exchange, routing_key="enrich", declare=queues)
        producer.publish({"n": "run"}, exchange=exchange, routing_key="ingest", declare=queues)

        def on_message(body, message):
            taken.append(message.delivery_info["routing_key"])
            message.ack()

        with conn.Consumer(queues, callbacks=[on_message]):
            while len(taken) < 31:
                conn.drain_events(timeout=5)
    assert taken.count("ingest") == 1 and taken.count("enrich") == 30
    assert taken.index("ingest") < 3
