# One image for every PhotoStorage process:
# `python -m photostore api|processor|migrate|operator|backup|restore`.
# Build the GPU processor image with: docker build --build-arg EXTRAS=gpu -t photostore-gpu .
# EXTRAS=gpu installs from requirements-gpu.lock: CuPy and the CUDA runtime libraries as wheels,
# so the node needs only the NVIDIA driver (mounted by the NVIDIA container toolkit).
# PG_MAJOR is the major version of the PostgreSQL server the backups dump (pg_dump refuses a
# newer server): docker build --build-arg PG_MAJOR=16 ...
ARG PG_MAJOR=15
FROM python:3.11-slim AS build
ARG EXTRAS=""
WORKDIR /src
COPY requirements.lock requirements-gpu.lock pyproject.toml README.md ./
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir "uv==0.13.9" \
 && /opt/venv/bin/uv pip sync --python /opt/venv/bin/python "requirements${EXTRAS:+-$EXTRAS}.lock"
COPY photostore ./photostore
RUN /opt/venv/bin/uv pip install --python /opt/venv/bin/python --no-deps .

FROM python:3.11-slim
ARG PG_MAJOR
# pg_dump and pg_restore of that major, from the PostgreSQL project's apt repository (it has
# every supported major for every Debian release; postgresql-common ships its signing key).
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-common \
 && /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y \
 && apt-get install -y --no-install-recommends "postgresql-client-${PG_MAJOR}" \
 && rm -rf /var/lib/apt/lists/*
ENV PHOTOSTORE_PG_BIN_DIR=/usr/lib/postgresql/${PG_MAJOR}/bin
# The package holds a subpackage named `operator`; never let a script's folder shadow the
# standard library: every process starts as a module and with a safe sys.path.
ENV PATH=/opt/venv/bin:$PATH PYTHONSAFEPATH=1 PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
COPY --from=build /opt/venv /opt/venv
RUN useradd --uid 10001 --no-create-home photostore
USER 10001
EXPOSE 8080 9090
ENTRYPOINT ["python", "-m", "photostore"]
CMD ["api"]
