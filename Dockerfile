# syntax=docker/dockerfile:1
#
# One image recipe for every service of the monorepo:
#
#   docker build --build-arg SERVICE=scheduler    -t academy/scheduler:dev .
#   docker build --build-arg SERVICE=meet-fetcher -t academy/meet-fetcher:dev .
#
# SERVICE is the folder under services/ (scheduler, attendance, billing, meet-fetcher,
# meet-emulator, console). The image runs `python -m <package>` where <package> is SERVICE with
# "-" replaced by "_" (meet-fetcher -> meet_fetcher); arguments given to the container are
# passed on, so `docker run IMAGE migrate` runs `python -m <package> migrate`.
#
# The base image is pinned to an exact Python patch release and Debian release. For
# reproducible production builds pin it by digest as well (python:3.11.14-slim-bookworm@sha256:...).
FROM python:3.11.14-slim-bookworm

ARG SERVICE

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

RUN test -n "${SERVICE}" || { echo "build arg SERVICE is required (e.g. --build-arg SERVICE=scheduler)" >&2; exit 1; }

# Unprivileged runtime user with a fixed numeric id, so Kubernetes can verify runAsNonRoot.
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home --shell /usr/sbin/nologin app

WORKDIR /app

# Third-party run-time dependencies first, from the monorepo's lock (`make lock`: every package
# checked against its hash; the test and lint tools of requirements-dev.txt never enter an
# image): this layer is shared by every service image and only rebuilt when requirements.txt changes.
COPY requirements.txt ./requirements.txt
RUN pip install --require-hashes -r requirements.txt

# Then the shared library and the one service this image is for.
COPY libs/common ./libs/common
COPY services/${SERVICE} ./services/${SERVICE}
RUN pip install --no-deps -e libs/common -e "services/${SERVICE}"

# The entrypoint is `python -m <package>`; check at build time that the package imports.
RUN module="$(printf '%s' "${SERVICE}" | tr '-' '_')" \
 && python -c "import importlib.util, sys; m = sys.argv[1]; sys.exit(0 if importlib.util.find_spec(m) and importlib.util.find_spec(m + '.__main__') else 'no runnable package ' + m)" "${module}" \
 && printf '#!/bin/sh\nexec python -m %s "$@"\n' "${module}" > /usr/local/bin/academy-service \
 && chmod 0755 /usr/local/bin/academy-service

ENV ACADEMY_SERVICE=${SERVICE}
LABEL org.opencontainers.image.title="academy-${SERVICE}" \
      org.opencontainers.image.description="Meet attendance & billing: ${SERVICE} service"

USER 10001:10001

# Documentation only; the real port comes from HTTP_PORT (scheduler 8081, attendance 8082,
# billing 8083, meet-fetcher 8084, meet-emulator 8090).
EXPOSE 8081 8082 8083 8084 8090

# Services drain on SIGTERM (exec keeps python as PID 1's direct replacement, so it gets it).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/academy-service"]
