# sellersync's follow-mode watchdog: `sync watch --follow QUEUE_URL` (docs/watch.md).
FROM python:3.11-slim
RUN useradd --create-home --uid 10001 sellersync
WORKDIR /app
COPY pyproject.toml README.md ./
COPY engine ./engine
COPY schemas ./schemas
RUN pip install --no-cache-dir . && rm -rf /root/.cache
USER sellersync
# The seller repository (config/) is mounted at /config; state goes to its state_dir.
WORKDIR /config
# /healthz and /metrics listen on 127.0.0.1 only: probe them from inside the container.
HEALTHCHECK --interval=60s --timeout=5s \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:9108/healthz').status != 200)"
STOPSIGNAL SIGTERM
ENTRYPOINT ["sync", "watch", "--follow"]
