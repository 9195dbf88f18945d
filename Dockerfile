# cre-advisor server image: non-root, runs with a read-only root file system, data on a volume.
#
#   docker build -t cre-advisor .
#   docker run --read-only --tmpfs /tmp -v cre-advisor-data:/data -p 8000:8000 cre-advisor
#
# Everything the server writes goes to /data (the SQLite database, its journal, the metrics of
# several workers) or, with CRE_ADVISOR_DATABASE_URL, to PostgreSQL; /tmp is a tmpfs.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m venv /opt/cre-advisor \
 && /opt/cre-advisor/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/cre-advisor/bin/pip install --no-cache-dir .

FROM python:3.11-slim
RUN groupadd --system --gid 10001 cre \
 && useradd --system --uid 10001 --gid cre --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin cre \
 && mkdir /data && chown cre:cre /data && chmod 0700 /data
COPY --from=build /opt/cre-advisor /opt/cre-advisor
ENV PATH=/opt/cre-advisor/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CRE_ADVISOR_DATA_DIR=/data
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/livez', timeout=4)"]
# 0.0.0.0 inside the container only; publish the port to the host or the load balancer explicitly.
CMD ["cre-advisor", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
