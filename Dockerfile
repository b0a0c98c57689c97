# The image behind every service of docker-compose.yml: web, worker and beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 DATA_DIR=/data
WORKDIR /app

# CPU torch from PyTorch's own index; PyPI's default build pulls CUDA libraries.
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY papers papers
COPY search search
COPY ml ml
RUN pip install --no-cache-dir .
COPY . .

RUN useradd --create-home app && mkdir -p /data && chown app /data
USER app
EXPOSE 8000
CMD ["gunicorn", "papers.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3"]
