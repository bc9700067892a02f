# Sourced by scripts/bench.sh --server nginx.
#
#   start_bench_nginx DIR WORKERS
#
# Writes under DIR (replacing what was there): a fresh CA and an ECDSA P-256 leaf for
# api.wxnet.test and 127.0.0.1 (openssl), the files served (root/json: 13 bytes of JSON,
# root/bytes/1048576 and root/bytes/10485760: random bytes), and nginx.conf; then starts
# Debian's nginx in the foreground of a background job, listening on 127.0.0.1 only: one
# TLS port for HTTP/1.1 (ALPN offers http/1.1 only) and one for h2 (ALPN h2, http/1.1).
# GET /alpn answers the protocol nginx speaks ("HTTP/1.1" or "HTTP/2.0"), as our test
# server's /alpn does. Exports NGINX_H1_PORT, NGINX_H2_PORT, NGINX_CA; TMP is a fresh
# temporary directory. An EXIT trap stops nginx and removes TMP.

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_bench_nginx() {
  local dir="$1" workers="$2" user_line=""
  TMP="$(mktemp -d "${TMPDIR:-/tmp}/wxnet-bench.XXXXXX")"
  rm -rf "$dir"
  mkdir -p "$dir/root/bytes" "$dir/logs" "$dir/tmp"

  # Certificates: the same shape as the test server's (testserver/src/cert.rs).
  openssl ecparam -name prime256v1 -genkey -noout -out "$dir/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$dir/ca.key" -days 3650 -subj "/CN=wxnet bench CA/O=wxnet tests" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out "$dir/ca.pem" 2>/dev/null
  openssl ecparam -name prime256v1 -genkey -noout -out "$dir/leaf.key" 2>/dev/null
  openssl req -new -key "$dir/leaf.key" -subj "/CN=api.wxnet.test/O=wxnet tests" -out "$dir/leaf.csr" 2>/dev/null
  printf '%s\n' "subjectAltName=DNS:api.wxnet.test,IP:127.0.0.1" "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" \
    "authorityKeyIdentifier=keyid" "subjectKeyIdentifier=hash" >"$dir/leaf.ext"
  openssl x509 -req -in "$dir/leaf.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 90 -extfile "$dir/leaf.ext" -out "$dir/leaf.pem" 2>/dev/null
  [ -s "$dir/leaf.pem" ] || { echo "bench.sh: openssl could not make the certificates" >&2; exit 1; }

  printf '{"hello":"w"}' >"$dir/root/json" # 13 bytes
  head -c 1048576 /dev/urandom >"$dir/root/bytes/1048576"
  head -c 10485760 /dev/urandom >"$dir/root/bytes/10485760"

  NGINX_H1_PORT="$(free_port)"
  NGINX_H2_PORT="$(free_port)"
  while [ "$NGINX_H2_PORT" = "$NGINX_H1_PORT" ]; do NGINX_H2_PORT="$(free_port)"; done
  # As root nginx would run its workers as nobody, who may not read DIR.
  [ "$(id -u)" != 0 ] || user_line="user root;"
  local site="
    server_name api.wxnet.test;
    root $dir/root;
    location = /json { default_type application/json; }
    location /bytes/ { default_type application/octet-stream; }
    location = /alpn { default_type text/plain; return 200 \$server_protocol; }"
  cat >"$dir/nginx.conf" <<CONF
# Written by scripts/bench.sh --server nginx: a static file server for the benchmark.
$user_line
daemon off;
master_process on;
worker_processes $workers;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  types { }
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  tcp_nodelay on;
  # Keep-alive for the whole run (nginx closes after 1000 requests by default, and a
  # reconnect would count against whichever client happens to be running).
  keepalive_requests 100000000;
  keepalive_timeout 600s;
  http2_max_concurrent_streams 128;
  ssl_certificate $dir/leaf.pem;
  ssl_certificate_key $dir/leaf.key;
  ssl_protocols TLSv1.2 TLSv1.3;
  server {
    listen 127.0.0.1:$NGINX_H1_PORT ssl;$site
  }
  server {
    listen 127.0.0.1:$NGINX_H2_PORT ssl http2;$site
  }
}
CONF
  /usr/sbin/nginx -t -q -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" \
    || { cat "$dir/logs/error.log" >&2; echo "bench.sh: nginx rejected $dir/nginx.conf" >&2; exit 1; }
  /usr/sbin/nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" &
  NGINX_PID=$!
  trap stop_bench_nginx EXIT
  local port
  for port in "$NGINX_H1_PORT" "$NGINX_H2_PORT"; do
    for _ in $(seq 1 200); do
      (exec 9<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
      kill -0 "$NGINX_PID" 2>/dev/null || {
        cat "$dir/logs/error.log" >&2
        echo "bench.sh: nginx exited" >&2
        exit 1
      }
      sleep 0.05
    done
  done
  NGINX_CA="$dir/ca.pem"
  export NGINX_H1_PORT NGINX_H2_PORT NGINX_CA
}

stop_bench_nginx() {
  kill "$NGINX_PID" 2>/dev/null || true
  wait "$NGINX_PID" 2>/dev/null || true
  rm -rf "$TMP"
}
