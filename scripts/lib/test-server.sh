# Sourced by the scripts that need the local test server (demo, C examples, bench).
#
#   start_test_server BIN NAME
#
# Starts BIN (wxnet-testserver) with a fresh CA in a new temporary directory, waits for its
# port line, and exports WXNET_TEST_HTTPS_PORT, WXNET_TEST_HTTP_PORT and WXNET_TEST_CA.
# TMP is that directory (scripts may keep their own files there). The server's stdin is
# fd 3 of this shell, its only writer, so the server goes away with the script however it
# ends; an EXIT trap also kills it and removes TMP. NAME prefixes error messages.

start_test_server() {
  local bin="$1" name="$2" line
  TMP="$(mktemp -d "${TMPDIR:-/tmp}/wxnet-${name%.sh}.XXXXXX")"
  exec 3> >(exec "$bin" --ca-file "$TMP/ca.pem" --port-file "$TMP/server.json" \
    >"$TMP/server.out" 2>"$TMP/server.log")
  TEST_SERVER_PID=$!
  trap stop_test_server EXIT
  for _ in $(seq 1 200); do
    [ -s "$TMP/server.json" ] && break
    kill -0 "$TEST_SERVER_PID" 2>/dev/null || {
      cat "$TMP/server.log" >&2
      echo "$name: the test server exited" >&2
      exit 1
    }
    sleep 0.05
  done
  line="$(head -n 1 "$TMP/server.json" 2>/dev/null || true)"
  [ -n "$line" ] || { echo "$name: no port line from the test server" >&2; exit 1; }
  WXNET_TEST_HTTPS_PORT="$(sed -n 's/.*"https":\([0-9]*\).*/\1/p' <<<"$line")"
  WXNET_TEST_HTTP_PORT="$(sed -n 's/.*"http":\([0-9]*\).*/\1/p' <<<"$line")"
  WXNET_TEST_CA="$(sed -n 's/.*"ca":"\([^"]*\)".*/\1/p' <<<"$line")"
  export WXNET_TEST_HTTPS_PORT WXNET_TEST_HTTP_PORT WXNET_TEST_CA
}

stop_test_server() {
  exec 3>&- || true
  kill "$TEST_SERVER_PID" 2>/dev/null || true
  rm -rf "$TMP"
}
