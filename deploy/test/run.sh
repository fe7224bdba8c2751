#!/usr/bin/env bash
# `make deploy-test`: build PoreGuide's images from deploy/Dockerfile (Rasa) and
# deploy/Dockerfile.actions (action server), start deploy/docker-compose.yml (2 Rasa and 2
# action-server replicas, PostgreSQL, Redis, nginx), check it end to end through nginx
# (deploy/test/check_stack.py), then take everything down again.
#
# Runs with podman (Debian's, rootful) behind `podman system service`, driven by docker-compose
# 1.29 through the Docker API, exactly as with a Docker engine; the images the files start FROM
# are local stand-ins when no registry can be reached (deploy/test/images.sh, cached).
# No container, volume or network of the run is left behind, whether it passes or fails.
#
# Needs root, podman, buildah, docker-compose, debootstrap (the Makefile target installs them).
# Settings: KEEP_WORKDIR=1 keeps every container's log in /var/tmp/poreguide-deploy-test.* (kept
# anyway when a check fails; KEEP_WORKDIR=0 never); POREGUIDE_DEPLOY_CACHE (default
# /var/cache/poreguide-deploy); DEPLOY_TEST_SKIP_BUILD=1 reuses the images of the previous run
# (to work on the checks); DEPLOY_TEST_CONTEXT=<dir> builds from that copy of the project;
# POREGUIDE_DEPLOY_DIR=<dir> runs that copy's docker-compose.yml and nginx files.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DEPLOY=$ROOT/deploy
# POREGUIDE_DEPLOY_DIR: run another copy of the compose file and nginx.conf (for example the files
# before a fix) with the images built from deploy/.
COMPOSE_FILE=${POREGUIDE_DEPLOY_DIR:-$DEPLOY}/docker-compose.yml
PROJECT=poreguidetest$$
IMAGE=localhost/poreguide:deploy-test
ACTIONS_IMAGE=localhost/poreguide-actions:deploy-test
WORK=$(mktemp -d /var/tmp/poreguide-deploy-test.XXXXXX)
STARTED=$SECONDS
TIMINGS=()
SERVICE_PID=""
HEALTH_PID=""
FAKE_API_PID=""
CHILD=""

# A long step, in its own process group, so that an interruption (Ctrl-C, SIGTERM, a CI timeout)
# reaches the trap at once and can stop the step and everything it started.
background() {
  local status=0
  setsid "$@" &
  CHILD=$!
  wait "$CHILD" || status=$?
  CHILD=""
  return "$status"
}

log() { printf '[deploy-test %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
phase() { TIMINGS+=("$1: $(( SECONDS - PHASE_START )) s"); PHASE_START=$SECONDS; }
PHASE_START=$SECONDS

[ "$(id -u)" = 0 ] || { echo "deploy/test/run.sh: run as root (rootful podman)" >&2; exit 2; }
for command in podman docker-compose debootstrap ss; do
  command -v "$command" >/dev/null || { echo "deploy/test/run.sh: $command is missing (make deploy-test installs it)" >&2; exit 2; }
done

# ------------------------------------------------------------------ podman settings for this machine
# Limits above the current hard limit are refused (the container would not start), 32768 at most;
# crun refuses hybrid cgroups, runc does not; no systemd, so cgroupfs and a file for events.
limit() { local value; value=$(ulimit -H "$1"); [ "$value" = unlimited ] && value=32768; echo $(( value < 32768 ? value : 32768 )); }
cat > "$WORK/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$(limit -n):$(limit -n)", "nproc=$(limit -u):$(limit -u)"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
[network]
network_backend = "netavark"
EOF
export CONTAINERS_CONF=$WORK/containers.conf

compose() {
  docker-compose --ansi never -p "$PROJECT" -f "$COMPOSE_FILE" --env-file "$WORK/env" "$@"
}

project_objects() {  # "kind id" of every container, volume and network of this run
  local filter=label=com.docker.compose.project=$PROJECT
  podman ps -aq --filter "$filter" | sed 's/^/container /'
  podman volume ls -q --filter "$filter" | sed 's/^/volume /'
  # Anonymous volumes (an image's VOLUME) carry no label: those that appeared during the run and
  # that no container uses any more.
  [ -f "$WORK/volumes-before" ] && podman volume ls -q --filter dangling=true | grep -vxF -f "$WORK/volumes-before" \
    | sed 's/^/volume /'
  podman network ls -q --filter "$filter" | sed 's/^/network /'
}

cleanup() {
  local status=$?
  set +e
  trap - EXIT INT TERM
  if [ -n "$CHILD" ]; then
    kill -TERM -- "-$CHILD" 2>/dev/null
    for _ in $(seq 20); do kill -0 "$CHILD" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$CHILD" 2>/dev/null
  fi
  [ -n "$HEALTH_PID" ] && kill "$HEALTH_PID" 2>/dev/null && wait "$HEALTH_PID" 2>/dev/null
  if [ -S "$WORK/podman.sock" ] && [ -f "$WORK/env" ]; then
    [ "$status" != 0 ] && { log "FAILED; the stack as it was:"; compose ps 2>&1 | sed 's/^/    /'; }
    for container in $(podman ps -a --format '{{.Names}}' --filter "label=com.docker.compose.project=$PROJECT"); do
      podman logs "$container" > "$WORK/$container.log" 2>&1
      [ "$status" != 0 ] || continue
      echo "    --- last lines of $container"; tail -25 "$WORK/$container.log" | sed 's/^/    | /'
    done
  fi
  if [ -S "$WORK/podman.sock" ] && [ -f "$WORK/env" ]; then
    log "taking the stack down"
    timeout 180 docker-compose --ansi never -p "$PROJECT" -f "$COMPOSE_FILE" --env-file "$WORK/env" \
      down --volumes --remove-orphans --timeout 10 > "$WORK/down.log" 2>&1 || tail -5 "$WORK/down.log"
  fi
  # Whatever compose did not remove (a failed `up`, a killed run): by label, forcibly.
  project_objects | while read -r kind id; do
    case $kind in
      container) podman rm --force --volumes "$id" ;;
      volume) podman volume rm --force "$id" ;;
      network) podman network rm --force "$id" ;;
    esac
  done > /dev/null 2>&1
  [ -n "$SERVICE_PID" ] && kill "$SERVICE_PID" 2>/dev/null && wait "$SERVICE_PID" 2>/dev/null
  [ -n "$FAKE_API_PID" ] && kill "$FAKE_API_PID" 2>/dev/null && wait "$FAKE_API_PID" 2>/dev/null
  left=$(project_objects)
  if [ -n "$left" ]; then
    echo "deploy-test: left behind: $left" >&2
    status=1
  fi
  if [ "${KEEP_WORKDIR:-}" = 1 ] || { [ "$status" != 0 ] && [ "${KEEP_WORKDIR:-}" != 0 ]; }; then
    log "logs kept in $WORK"
  else
    rm -rf "$WORK"
  fi
  [ ${#TIMINGS[@]} -gt 0 ] && log "timings: ${TIMINGS[*]}; total $(( SECONDS - STARTED )) s"
  if [ "$status" = 0 ]; then log "PASSED"; else log "FAILED (exit $status)"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ the Docker API, served by podman
podman system service --time=0 "unix://$WORK/podman.sock" > "$WORK/podman-service.log" 2>&1 &
SERVICE_PID=$!
export DOCKER_HOST=unix://$WORK/podman.sock
for _ in $(seq 100); do
  curl -sf --unix-socket "$WORK/podman.sock" http://d/_ping >/dev/null 2>&1 && break
  sleep 0.2
done
curl -sf --unix-socket "$WORK/podman.sock" http://d/_ping >/dev/null || { echo "podman system service did not start" >&2; exit 1; }

# ------------------------------------------------------------------ images
if [ "${DEPLOY_TEST_SKIP_BUILD:-}" = 1 ]; then  # iterating on the checks: the images as they are
  podman image exists "$IMAGE" || { echo "DEPLOY_TEST_SKIP_BUILD=1 but there is no $IMAGE yet" >&2; exit 2; }
else
background "$HERE/images.sh"
phase "base images"

# The build context: the project's files as git sees them (tracked, and new files not ignored),
# with fixed dates so that an unchanged tree reuses the cached image layers; the Dockerfiles and
# their .dockerignore files as they are. The host's CA bundle is a build secret, never in an image.
# DEPLOY_TEST_CONTEXT=<directory>: build from that copy of the project instead.
mkdir "$WORK/context"
(cd "${DEPLOY_TEST_CONTEXT:-$ROOT}" && { [ -n "${DEPLOY_TEST_CONTEXT:-}" ] && find . -type f -printf '%P\n' \
   || git ls-files --cached --others --exclude-standard; } | while IFS= read -r file; do [ -e "$file" ] && echo "$file"; done \
  | tar -T - --mtime=@1700000000 --owner=0 --group=0 -cf -) | tar -C "$WORK/context" -xf -
ca_bundle=${PIP_CERT:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}
secret=()
[ -s "$ca_bundle" ] && secret=(--secret "id=ca,src=$ca_bundle")
build() {  # build <Dockerfile> <image>
  local started=$SECONDS
  log "building $2 from deploy/$1 (first time: minutes; unchanged project: cached)"
  # shellcheck disable=SC2016  # the log's lines with the time they were written
  if ! background bash -c 'set -o pipefail; "$@" 2>&1 | while IFS= read -r line; do printf "%(%T)T %s\n" -1 "$line"; done' \
        _ nice -n 10 podman build --force-rm "${secret[@]}" --ignorefile "$DEPLOY/$1.dockerignore" \
        -f "$DEPLOY/$1" -t "$2" "$WORK/context" > "$WORK/build-$1.log"; then
    tail -40 "$WORK/build-$1.log"
    exit 1
  fi
  log "image $2: $(podman image inspect --format '{{.Size}}' "$2" | awk '{printf "%.2f GB", $1/1e9}'), $(( SECONDS - started )) s"
}
build Dockerfile "$IMAGE"
[ -f "$DEPLOY/Dockerfile.actions" ] && build Dockerfile.actions "$ACTIONS_IMAGE"
rm -rf "$WORK/context"
# Earlier builds' images, untagged by these: only the cache of the current ones is kept.
podman image prune --force > /dev/null
phase "app image"
fi

# ------------------------------------------------------------------ the stack
podman volume ls -q > "$WORK/volumes-before"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])'; }
secret() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
HTTP_PORT=$(free_port)
STAFF_PORT=$(free_port)  # the staff page, published on the host's loopback only
# Telegram's and Slack's APIs, stood in for on the host (deploy/test/fake_chat_apis.py), at an
# address of the host that the containers reach.
FAKE_API_PORT=$(free_port)
HOST_ADDRESS=$(ip -4 route get 1.1.1.1 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "src") print $(i + 1)}')
HOST_ADDRESS=${HOST_ADDRESS:-$(hostname -I | awk '{print $1}')}
python3 "$HERE/fake_chat_apis.py" "$FAKE_API_PORT" "$WORK/chat-api-requests.jsonl" &
FAKE_API_PID=$!
cat > "$WORK/env" <<EOF
POSTGRES_PASSWORD=$(secret)
ACTION_SERVER_TOKEN=$(secret)
POREGUIDE_IMAGE=$IMAGE
POREGUIDE_ACTIONS_IMAGE=$ACTIONS_IMAGE
HTTP_PORT=$HTTP_PORT
STAFF_PORT=$STAFF_PORT
RASA_REPLICAS=2
ACTION_REPLICAS=2
TELEGRAM_TOKEN=123456:deploy-test-not-a-real-token
TELEGRAM_WEBHOOK_URL=https://deploy-test.invalid/webhooks/telegram/webhook
TELEGRAM_SECRET_TOKEN=$(secret)
SLACK_BOT_TOKEN=xoxb-deploy-test-not-a-real-token
SLACK_SIGNING_SECRET=$(secret)
TELEGRAM_API_BASE_URL=http://$HOST_ADDRESS:$FAKE_API_PORT/telegram
SLACK_API_BASE_URL=http://$HOST_ADDRESS:$FAKE_API_PORT/slack
EOF

# Podman runs healthchecks from systemd timers, and there is no systemd: run them here, each at
# its container's own interval, so `depends_on: condition: service_healthy` works as with Docker.
healthchecks() {
  declare -A last=()
  while true; do
    for id in $(podman ps -q --filter "label=com.docker.compose.project=$PROJECT" --filter status=running 2>/dev/null); do
      interval=${intervals[$id]:-}
      if [ -z "$interval" ]; then
        interval=$(podman inspect --format '{{if .Config.Healthcheck}}{{json .Config.Healthcheck.Interval}}{{end}}' "$id" 2>/dev/null)
        interval=$(( ${interval:-0} / 1000000000 ))
        intervals[$id]=$interval
      fi
      [ "$interval" -gt 0 ] || continue
      if [ $(( SECONDS - ${last[$id]:-0} )) -ge "$interval" ]; then
        last[$id]=$SECONDS
        podman healthcheck run "$id" >/dev/null 2>&1 &
      fi
    done
    sleep 1
  done
}
declare -A intervals=()
healthchecks &
HEALTH_PID=$!

log "starting the stack (project $PROJECT, nginx on port $HTTP_PORT)"
if ! background timeout 900 docker-compose --ansi never -p "$PROJECT" -f "$COMPOSE_FILE" --env-file "$WORK/env" \
      up -d --no-build > "$WORK/up.log" 2>&1; then
  tail -20 "$WORK/up.log"
  exit 1
fi
phase "stack up"

background python3 "$HERE/check_stack.py" --url "http://127.0.0.1:$HTTP_PORT" --project "$PROJECT" --env-file "$WORK/env" \
  --chat-api-requests "$WORK/chat-api-requests.jsonl" \
  --compose "docker-compose --ansi never -p $PROJECT -f $COMPOSE_FILE --env-file $WORK/env"
phase "checks"
