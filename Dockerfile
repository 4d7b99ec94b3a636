# loadgate container image: a static, CGO-free binary on a minimal base,
# running as a non-root user.
#
#   make image                                  # or: docker build -t loadgate .
#   docker run --rm --network host -v "$PWD/examples:/scenarios:ro" loadgate \
#     run /scenarios/smoke.yaml -e BASE_URL=http://127.0.0.1:8088
#
# Targets: the default (last) stage is the runtime image, with nothing but the
# binary and CA certificates. `--target ci` adds a busybox shell for CI
# systems whose jobs run a script inside the image (GitLab CI, Jenkins docker
# agents).

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# CGO_ENABLED=0: a static binary that needs no libc (checked by
# cmd/loadgate's TestStaticBuild in make test).
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/loadgate ./cmd/loadgate \
 && /out/loadgate version

# For CI systems that run a shell script in the job's image.
FROM gcr.io/distroless/static-debian12:debug-nonroot AS ci
COPY --from=build /out/loadgate /usr/local/bin/loadgate
USER nonroot:nonroot
WORKDIR /home/nonroot
ENTRYPOINT ["/usr/local/bin/loadgate"]

# The runtime image: no shell, no package manager; uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/loadgate /loadgate
USER nonroot:nonroot
WORKDIR /home/nonroot
# Prometheus /metrics with --metrics-addr 0.0.0.0:9464 --metrics-allow-remote.
EXPOSE 9464
ENTRYPOINT ["/loadgate"]
CMD ["--help"]
