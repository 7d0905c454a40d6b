# A two-stage image: build the browser bundle and the release server (which
# embeds it), then copy the one binary into a slim runtime. Untested on the
# project's build machines (they cannot pull base images); the binary it
# packs is what the test suite covers. Build with:
#   docker build -t keywarden .
#   docker run -p 3000:3000 -v keywarden-data:/data keywarden
FROM rust:1.95-bookworm AS build
RUN rustup target add wasm32-unknown-unknown \
 && CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback cargo install wasm-bindgen-cli --version 0.2.130 \
 && cargo install wasm_split_cli_support --version 0.2.3 --features build-binary --locked \
 && apt-get update && apt-get install -y --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN bash -c 'source scripts/lib.sh && build_site release'

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* && useradd --system --home /data keywarden
COPY --from=build /src/target/release/keywarden /usr/local/bin/keywarden
USER keywarden
WORKDIR /data
ENV KEYWARDEN_ADDR=0.0.0.0:3000 \
    DATABASE_URL=sqlite:///data/keywarden.db
EXPOSE 3000
# SIGTERM lets Keywarden write the usage it counted before it exits.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/keywarden"]
