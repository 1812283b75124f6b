#!/usr/bin/env bash
# Regenerates Sources/EdgeNASONNX/Generated/onnx.pb.swift from the system's onnx.proto.
#
# The output is committed; run this only when onnx.proto or the swift-protobuf version
# changes. It builds swift-protobuf's protoc-gen-swift plugin (only that product, about a minute) in
# a temporary directory that is removed afterwards, so CI never builds the plugin.
# Running it twice gives the same file.
#
# Needs: git, swift, protoc (Debian: protobuf-compiler) and onnx.proto (Debian: libonnx-dev).
# Environment overrides:
#   SWIFT_PROTOBUF_URL      where to clone swift-protobuf from
#   SWIFT_PROTOBUF_VERSION  the tag; keep it equal to Package.swift's swift-protobuf version
#   ONNX_PROTO              the onnx.proto to compile
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly SWIFT_PROTOBUF_URL=${SWIFT_PROTOBUF_URL:-https://github.com/apple/swift-protobuf}
readonly SWIFT_PROTOBUF_VERSION=${SWIFT_PROTOBUF_VERSION:-1.39.0}
readonly ONNX_PROTO=${ONNX_PROTO:-/usr/include/onnx/onnx.proto}
readonly OUTPUT_DIRECTORY=Sources/EdgeNASONNX/Generated

fail() {
    echo "generate-onnx-swift.sh: error: $*" >&2
    exit 1
}

command -v protoc >/dev/null || fail "protoc not found: install protobuf-compiler (apt-get install -y protobuf-compiler)"
command -v swift >/dev/null || fail "swift not found on PATH"
[[ -f $ONNX_PROTO ]] || fail "$ONNX_PROTO not found: install libonnx-dev or set ONNX_PROTO"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "building protoc-gen-swift $SWIFT_PROTOBUF_VERSION from $SWIFT_PROTOBUF_URL"
git clone --quiet --depth 1 --branch "$SWIFT_PROTOBUF_VERSION" "$SWIFT_PROTOBUF_URL" "$work/swift-protobuf" 2>/dev/null ||
    git clone --quiet --branch "$SWIFT_PROTOBUF_VERSION" "$SWIFT_PROTOBUF_URL" "$work/swift-protobuf"
# A debug build is enough (and twice as fast): the plugin's speed does not matter here.
swift build --package-path "$work/swift-protobuf" --product protoc-gen-swift >"$work/build.log" 2>&1 ||
    { tail -n 40 "$work/build.log" >&2; fail "building protoc-gen-swift failed"; }
plugin="$(swift build --package-path "$work/swift-protobuf" --show-bin-path)/protoc-gen-swift"

# protoc names the output after the input file; compile a copy so that any onnx.proto works.
mkdir -p "$work/proto" "$work/out"
cp "$ONNX_PROTO" "$work/proto/onnx.proto"
protoc --plugin=protoc-gen-swift="$plugin" \
    --swift_out="$work/out" --swift_opt=Visibility=Public \
    -I "$work/proto" "$work/proto/onnx.proto"

mkdir -p "$OUTPUT_DIRECTORY"
mv "$work/out/onnx.pb.swift" "$OUTPUT_DIRECTORY/onnx.pb.swift"
echo "wrote $OUTPUT_DIRECTORY/onnx.pb.swift ($(wc -c <"$OUTPUT_DIRECTORY/onnx.pb.swift") bytes)"
