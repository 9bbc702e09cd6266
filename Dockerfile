FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 \
    libpangoft2-1.0-0 libharfbuzz0b fonts-dejavu-core && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir -e . && pybabel compile -d webapp/translations
# The app runs as an unprivileged account; /data (the instance folder: uploads, mail sink,
# broker files) is its own and readable by nobody else.
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin citypair \
    && mkdir -p /data && chown citypair:citypair /data && chmod 0700 /data
USER citypair
EXPOSE 8000
