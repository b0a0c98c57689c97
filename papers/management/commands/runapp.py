"""Run the whole app on one machine: the web server and a Celery worker with beat."""

import signal
import subprocess
import sys
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand

from papers.celery import worker_command


class Command(BaseCommand):
    help = "Bootstrap, then serve the site with gunicorn and run a Celery worker beside it."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:8000")
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument("--no-bootstrap", action="store_true")

    def handle(self, *args, bind: str, web_workers: int, no_bootstrap: bool, **options):
        if not no_bootstrap:
            call_command("bootstrap")
        worker = worker_command(1, "INFO", "--beat")
        web = [sys.executable, "-m", "gunicorn", "papers.wsgi", "--bind", bind]
        web += ["--workers", str(web_workers), "--access-logfile", "-"]
        processes = [subprocess.Popen(worker), subprocess.Popen(web)]
        self.stdout.write(self.style.SUCCESS(f"Serving on http://{bind}/ (Ctrl-C stops)"))

        def stop() -> None:
            for process in processes:
                if process.poll() is None:
                    process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()

        signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
        try:
            while all(p.poll() is None for p in processes):
                time.sleep(0.5)
            failed = next(p for p in processes if p.poll() is not None)
            self.stderr.write(f"{' '.join(failed.args[2:5])} exited with {failed.returncode}")
            sys.exit(failed.returncode or 1)
        except KeyboardInterrupt:
            pass
        finally:
            stop()
