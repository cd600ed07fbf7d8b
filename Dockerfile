# sweepd on the CPU: one image for every service of docker-compose.yml (migrate, ray-head,
# ray-worker, api). Ray requires the same Ray and Python version on every node of a cluster, so
# all nodes run this one image; docker-compose.gpu.yml swaps it for Dockerfile.gpu everywhere.
#
#   docker build -t sweepd:latest .
#
# torch is installed first, from the PyTorch CPU index and pinned, so that pip neither pulls a
# multi-GB CUDA build nor re-resolves torch when only the project's code changes.
ARG PYTHON_VERSION=3.11
FROM python:${PYTHON_VERSION}-slim

ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SWEEPD_DATA_DIR=/var/lib/sweepd

RUN pip install "torch==${TORCH_VERSION}" --index-url "${TORCH_INDEX_URL}"

WORKDIR /opt/sweepd
COPY pyproject.toml README.md ./
COPY sweepd ./sweepd
COPY api ./api
COPY workers ./workers
COPY migrations ./migrations
COPY service ./service
RUN pip install ".[server]" "torch==${TORCH_VERSION}" \
    && python -c "import sweepd, sweepd_api, sweepd_workers, sweepd_migrations, sweepd_service, ray, torch"

# Never run as root. Ray keeps its sessions under /tmp/ray; the API keeps its token file (and,
# without PostgreSQL, its SQLite file) in SWEEPD_DATA_DIR, a volume in docker-compose.yml.
RUN useradd --create-home --uid 1000 sweepd \
    && mkdir -p /var/lib/sweepd \
    && chown sweepd:sweepd /var/lib/sweepd
USER sweepd
WORKDIR /home/sweepd

EXPOSE 8642 6379 8265
CMD ["sweepd", "--help"]
