# hoinghi server image. One image runs every hoinghi process of the production stack
# (docker-compose.yml, docs/deploy.md):
#   hoinghi serve --host 0.0.0.0 --port 8000      (the default command)
#   hoinghi migrate
#   hoinghi media-worker --host H --port P --recordings /data/recordings
# and any other `hoinghi` command (user add, backup, restore, ...).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The runtime dependencies first, read from pyproject.toml alone, so that a change to the
# code reuses this (large) layer. Every dependency ships wheels for CPython 3.11 on
# glibc (aiortc, av, pypdfium2, cryptography, asyncpg, ...): no compiler is needed.
# Only [project].dependencies: the test extra is never installed in the image.
COPY pyproject.toml /tmp/build/
RUN python -c "import tomllib; deps = tomllib.load(open('/tmp/build/pyproject.toml', 'rb'))['project']['dependencies']; open('/tmp/build/requirements.txt', 'w').write(chr(10).join(deps) + chr(10))" \
 && pip install -r /tmp/build/requirements.txt

# The project itself (server, rooms, agenda; the fonts in agenda/fonts and the migrations
# are package data). Installed as a regular package, not editable, so the source tree is
# removed afterwards.
COPY README.md /tmp/build/
COPY server /tmp/build/server
COPY rooms /tmp/build/rooms
COPY agenda /tmp/build/agenda
RUN pip install --no-deps /tmp/build && rm -rf /tmp/build

# The web client is not package data: it lives beside the package, and the server is told
# where (HOINGHI_STATIC_DIR).
COPY static /app/static

# An unprivileged user owns the data directory (blobs, the built-in CA, recordings). A new
# named volume mounted on /data takes this ownership from the image.
RUN groupadd --system --gid 10001 hoinghi \
 && useradd --system --uid 10001 --gid hoinghi --home-dir /data --no-create-home \
            --shell /usr/sbin/nologin hoinghi \
 && mkdir -p /data \
 && chown hoinghi:hoinghi /data

ENV HOINGHI_DATA_DIR=/data \
    HOINGHI_STATIC_DIR=/app/static

WORKDIR /app
VOLUME ["/data"]
EXPOSE 8000
USER 10001:10001

# Ready when the process answers and its database does (GET /readyz, docs/operations.md).
# The slim image has no curl: Python checks. The media worker and one-shot commands
# override or disable this check in docker-compose.yml.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]

ENTRYPOINT ["hoinghi"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
