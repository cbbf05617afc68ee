# One image, both binaries: lodestone-ccm and lodestone-speaker.
#   docker build -t lodestone:latest .
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p lodestone-ccm -p lodestone-speaker \
 && install -D -m 0755 target/release/lodestone-ccm /out/lodestone-ccm \
 && install -D -m 0755 target/release/lodestone-speaker /out/lodestone-speaker

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/ /usr/local/bin/
# The speaker needs root-equivalent network capabilities (granted in its DaemonSet);
# the controller runs as nobody.
USER 65534:65534
ENTRYPOINT []
CMD ["lodestone-ccm", "--help"]
