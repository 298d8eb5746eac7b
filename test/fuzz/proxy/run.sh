#!/usr/bin/env bash
# Builds the HTTP/1 parser fuzz target with clang's libFuzzer (plus ASan and
# UBSan) from the parser's own sources (no Asio: the codec's I/O is not
# fuzzed) and runs it. Usage: test/fuzz/proxy/run.sh [SECONDS] (default 300).
# The corpus starts from the request fixtures and is kept in
# ${WEFT_FUZZ_DIR:-/tmp/weft-fuzz-proxy}; a crash leaves its input there.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
seconds=${1:-300}
work=${WEFT_FUZZ_DIR:-/tmp/weft-fuzz-proxy}
mkdir -p "$work/corpus"
command -v clang++ >/dev/null || { echo "clang++ missing: run scripts/install-deps" >&2; exit 1; }

clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$repo" -I"$repo"/lib "$repo"/test/fuzz/proxy/http1_parser_fuzz.cpp \
  "$repo"/proxy/http1/{head_parser,head_writer,body_decoder,message}.cpp \
  "$repo"/proxy/bridge/head_translation.cpp \
  "$repo"/proxy/request/path.cpp \
  -o "$work/http1_parser_fuzz"

# Seeds: each fixture as a request (mode byte 0), decoded as
# test/fuzz/proxy/fixture_format.h decodes it (expectation lines dropped,
# lines ended by CRLF, escapes), and a few responses (mode 1).
python3 - "$work/corpus" "$repo"/test/unit/proxy/fixtures/requests/*.http <<'PY'
import os, re, sys

def unescape(text):
    def one(match):
        code = match.group(1)
        if code.startswith(b"x"):
            return bytes([int(code[1:], 16)])
        return {b"r": b"\r", b"n": b"\n", b"t": b"\t", b"0": b"\0"}.get(code, code)
    return re.sub(rb"\\(x[0-9a-fA-F]{2}|.)", one, text)

for path in sys.argv[2:]:
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    out, header = b"\x00", True
    for line in lines:
        if header and line.startswith(b"# "):
            continue
        header = False
        if line.endswith(b"\\") and not line.endswith(b"\\\\"):
            out += unescape(line[:-1])
        else:
            out += unescape(line) + b"\r\n"
    name = os.path.basename(path)[: -len(".http")]
    with open(os.path.join(sys.argv[1], name), "wb") as f:
        f.write(out)
PY
printf '\x01HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX: y\r\n\r\n' \
  >"$work/corpus/response-chunked"
printf '\x01HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n' >"$work/corpus/response-204"
printf '\x01HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n' \
  >"$work/corpus/response-gzip-chunked"

cd "$work"
# Only the filter's "no line matched" is ignored; the fuzzer's own exit status
# (pipefail) says whether it failed, even with no ERROR line in its log.
fuzz_status=0
./http1_parser_fuzz -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 corpus 2>&1 | tee fuzz.log |
  { grep -E "^#[0-9]+.*(DONE|pulse)|stat::|ERROR|SUMMARY" || true; } || fuzz_status=$?
grep -q "ERROR" fuzz.log && { echo "fuzzing found a failure: see $work" >&2; exit 1; }
((fuzz_status == 0)) || { echo "the fuzzer exited with $fuzz_status: see $work/fuzz.log" >&2; exit 1; }
echo "fuzzing ran ${seconds}s clean: $(grep -c . <(ls corpus)) corpus entries"
