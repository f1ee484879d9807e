# tagway image: a static binary on distroless, run as non-root.
#
#   docker build -t tagway .
#   docker run --rm -p 8080:8080 -p 9090:9090 tagway --allow-remote-unauthenticated
#
# The build stage needs the Go module proxy; the image needs nothing else.
# -buildvcs=true puts the commit in the binary (tagway --version), so build
# from a git checkout (.git is part of the context).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOFLAGS=-buildvcs=true go build -trimpath -ldflags='-s -w' -o /out/tagway ./cmd/tagway

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tagway /tagway
# 65532 is distroless's nonroot user; Kubernetes checks runAsNonRoot by uid.
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["/tagway"]
