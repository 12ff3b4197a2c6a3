# One image for every PhotoStorage process: `python -m photostore api|processor|migrate|operator`.
# Build the GPU processor image with: docker build --build-arg EXTRAS=gpu -t photostore-gpu .
FROM python:3.11-slim AS build
ARG EXTRAS=""
WORKDIR /src
COPY requirements.lock pyproject.toml README.md ./
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir "uv==0.13.9" \
 && /opt/venv/bin/uv pip sync --python /opt/venv/bin/python requirements.lock
COPY photostore ./photostore
RUN /opt/venv/bin/uv pip install --python /opt/venv/bin/python --no-deps . \
 && if [ -n "$EXTRAS" ]; then /opt/venv/bin/uv pip install --python /opt/venv/bin/python ".[$EXTRAS]"; fi

FROM python:3.11-slim
# The package holds a subpackage named `operator`; never let a script's folder shadow the
# standard library: every process starts as a module and with a safe sys.path.
ENV PATH=/opt/venv/bin:$PATH PYTHONSAFEPATH=1 PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
COPY --from=build /opt/venv /opt/venv
RUN useradd --uid 10001 --no-create-home photostore
USER 10001
EXPOSE 8080 9090
ENTRYPOINT ["python", "-m", "photostore"]
CMD ["api"]
