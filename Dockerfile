# Metriflow: one image with every program; docker-compose.yml picks the
# command per service.

# ---- build: compilers and -dev packages, never shipped ------------------
FROM debian:12 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config ca-certificates \
      libpq-dev librabbitmq-dev libhiredis-dev libmicrohttpd-dev \
      libjansson-dev libjwt-dev libsodium-dev zlib1g-dev \
      libjs-chart.js nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release \
 && cmake --build build -j"$(nproc)" \
 && mkdir -p /out/bin /out/share \
 && cp build/bin/metriflow-* /out/bin/ \
 && if [ -d build/share/metriflow ]; then cp -r build/share/metriflow /out/share/; fi

# ---- runtime: only the shared libraries the programs load -----------------
FROM debian:12-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpq5 librabbitmq4 libhiredis0.14 libmicrohttpd12 libjansson4 \
      libjwt0 libsodium23 zlib1g ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin metriflow \
 && mkdir -p /inbox && chown metriflow /inbox
COPY --from=build /out/bin/ /usr/local/bin/
COPY --from=build /out/share/ /usr/local/share/
USER metriflow
ENV METRIFLOW_HTTP_ADDR=0.0.0.0:8080
EXPOSE 8080
CMD ["metriflow-api"]
