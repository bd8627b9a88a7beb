# syntax=docker/dockerfile:1
# Tideline in a container: docs/operations.md. Build from the repository's root:
#   docker build -t tideline --build-arg VERSION=v1.2.3 .
FROM golang:1.26-alpine AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# Static: the embedded engine is pure Go, so no cgo and no C library are needed.
RUN CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X github.com/tideline-dev/tideline.Version=${VERSION}" \
    -o /out/tideline ./cmd/api

FROM alpine:3.22
# A fixed non-root user, so volumes can be owned by it; busybox wget for the health check.
RUN addgroup -S -g 10001 tideline \
 && adduser -S -D -H -u 10001 -G tideline -h /var/lib/tideline tideline \
 && install -d -o tideline -g tideline -m 0700 /var/lib/tideline
COPY --from=build /out/tideline /usr/local/bin/tideline
USER tideline:tideline
WORKDIR /var/lib/tideline
ENV TIDELINE_ADDR=0.0.0.0:8080 \
    TIDELINE_DATA_DIR=/var/lib/tideline/data \
    TIDELINE_LOG_FORMAT=json
VOLUME ["/var/lib/tideline"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD wget -q -O /dev/null http://127.0.0.1:8080/healthz || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/tideline"]
CMD ["serve"]
