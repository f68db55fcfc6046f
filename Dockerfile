# One image for both processes: `scripe api` (the default) or `scripe worker`.
# Configuration comes from SCRIPE_ environment variables only (see README, Configuration).
#
# The image holds the production wheel and its requirements only: no source tree, no
# devtools/, no tests, no embedded Temporal server (the `embedded` and `dev` extras are
# for `make run` and the tests; docker-compose runs its own Temporal server).

# --- build: the wheel of the project alone ------------------------------------------------
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY . /src
RUN pip wheel --no-deps --wheel-dir /wheels /src

# --- run ----------------------------------------------------------------------------------
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 scripe \
    && mkdir /data \
    && chown scripe:scripe /data

WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl && rm -rf /wheels

USER scripe
ENV SCRIPE_DATA_DIR=/data \
    SCRIPE_API_HOST=0.0.0.0 \
    SCRIPE_API_PORT=8000 \
    SCRIPE_WORKER_METRICS_HOST=0.0.0.0 \
    SCRIPE_WORKER_METRICS_PORT=9464
EXPOSE 8000 9464

# The process is PID 1 and gets the orchestrator's SIGTERM itself: the API drains its
# requests (up to 30 s), the worker its activities (SCRIPE_WORKER_GRACEFUL_SHUTDOWN_SECONDS,
# then at most 5 s more, even when Temporal is unreachable).
ENTRYPOINT ["scripe"]
CMD ["api"]
