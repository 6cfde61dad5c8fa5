# The front ends of docker-compose.yml (build context: the repository root):
# the repository pip-installed on python:3.11-slim, run as an unprivileged user.
# Only what the package needs is copied, so the build context sent stays small.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY corestore ./corestore
COPY scale_units ./scale_units
COPY auth_service ./auth_service
COPY bench ./bench
RUN pip install . \
    && useradd --system --no-create-home --shell /usr/sbin/nologin corestore

USER corestore
WORKDIR /
EXPOSE 8000
CMD ["corestore", "--help"]
