#!/bin/sh
# The nginx container's command (docker-compose.yml): nginx, plus what nginx does not do by itself,
# look the Rasa replicas up again.
#
# nginx resolves the names in its upstream blocks (`rasa`) once, when it loads its configuration.
# A replica that restarts, or one added or removed by scaling, has a new address, and nginx would
# go on sending requests to the old addresses (502) until reloaded. This script starts nginx, looks
# those names up every NGINX_RERESOLVE_SECONDS (default 5) and reloads nginx when the addresses
# change. A reload is graceful: requests in progress finish on the old workers. The upstream blocks
# stay as they are, so /socket.io/ keeps its stickiness (ip_hash) and the replicas their keep-alive
# connections, which `resolver` with a variable in proxy_pass would give up.
set -eu
conf=${NGINX_CONF:-/etc/nginx/nginx.conf}
interval=${NGINX_RERESOLVE_SECONDS:-5}

# The host names of the `server host:port ...;` lines inside upstream blocks.
hosts=$(awk '/^[ \t]*upstream[ \t]/ { inside = 1 } inside && $1 == "server" { sub(/:[0-9]+;?$/, "", $2); print $2 }
             inside && /}/ { inside = 0 }' "$conf" | sort -u)

# "host address" lines for every upstream host; fails if one of them resolves to nothing.
addresses() {
  for host in $hosts; do
    found=$(getent ahosts "$host" | awk -v host="$host" '{ print host, $1 }' | sort -u)
    [ -n "$found" ] || return 1
    echo "$found"
  done
}

nginx -c "$conf" -g 'daemon off;' &
nginx_pid=$!
trap 'kill -QUIT "$nginx_pid" 2>/dev/null || true' TERM QUIT
trap 'kill -TERM "$nginx_pid" 2>/dev/null || true' INT

known=$(addresses || true)
while kill -0 "$nginx_pid" 2>/dev/null; do
  sleep "$interval" &
  wait $! || true  # a signal interrupts the wait at once
  if ! current=$(addresses); then  # a name that resolves to nothing: keep what nginx has
    echo "nginx-start: an upstream name resolves to nothing; keeping nginx as it is" >&2
    continue
  fi
  if [ "$current" != "$known" ]; then
    echo "nginx-start: upstream addresses changed, reloading nginx:" $current >&2
    nginx -c "$conf" -s reload && known=$current
  fi
done
wait "$nginx_pid"
