#!/usr/bin/env bash
# The images deploy/docker-compose.yml and deploy/Dockerfile start FROM, made locally, for machines
# that cannot pull from an image registry: a Debian bookworm root filesystem from
# `debootstrap --variant=minbase` (against the Debian mirror apt uses), and on it stand-ins for
#   docker.io/library/python:3.X-slim-bookworm    a local CPython 3.X (pyenv's) copied into /usr/local, for
#                                                 each 3.X that deploy/Dockerfile* start FROM
#   docker.io/library/postgres:15                 Debian's PostgreSQL 15, the official image's variables
#   docker.io/library/redis:7                     Debian's Redis 7
#   docker.io/library/nginx:1.27                  Debian's nginx
# tagged with those names, so the Dockerfile and the compose file stay exactly as a clinic runs them.
# A real image already stored under one of those names (pulled or loaded) is used as it is.
#
# Cached, keyed by a hash of their inputs (this script, the Containerfiles, the debootstrap version
# and mirror, the local Python build, and the month, so Debian's updates come in at least monthly):
# the bootstrapped root filesystem as a tar in $CACHE_DIR, and the images in podman's own storage
# (label org.poreguide.deploy-test.key). A second run with the same inputs builds nothing.
#
# Needs root, podman and debootstrap; CONTAINERS_CONF as deploy/test/run.sh sets it.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE_DIR=${POREGUIDE_DEPLOY_CACHE:-/var/cache/poreguide-deploy}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
KEY_LABEL=org.poreguide.deploy-test.key
NICE=(nice -n 10)

log() { printf '[images %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
hash_of() { sha256sum | cut -c1-16; }

# Work directories of an interrupted build go with it.
TEMPORARY=()
trap 'rm -rf "${TEMPORARY[@]}"' EXIT
trap 'exit 130' INT TERM

# A CPython 3.X ($1) installed in a prefix of its own (pyenv, /opt/python, ...), never the system's /usr.
find_python() {
  local version=$1 candidates=() root prefix variable=POREGUIDE_PYTHON${1//./}
  [ -n "${!variable:-}" ] && candidates+=("${!variable}")
  command -v "python$version" >/dev/null 2>&1 && candidates+=("$(command -v "python$version")")
  root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
  while IFS= read -r dir; do candidates+=("$dir/bin/python$version"); done \
    < <(ls -d "$root/versions/$version".* 2>/dev/null | sort -rV)
  for python in "${candidates[@]}"; do
    prefix=$("$python" -c "import sys; assert '%d.%d' % sys.version_info[:2] == '$version'; print(sys.base_prefix)" \
      2>/dev/null) || continue
    if [ -n "$prefix" ] && [ "$prefix" != /usr ] && [ -x "$prefix/bin/python$version" ] && [ -d "$prefix/lib/python$version" ]; then
      echo "$prefix"
      return 0
    fi
  done
  echo "no CPython $version in a prefix of its own (pyenv install $version, or $variable=/path/bin/python$version)" >&2
  return 1
}

# True when `name` exists and is not one of ours (a real image: keep it), or is ours with `key`.
image_is_current() {
  local name=$1 key=$2 found
  podman image exists "$name" || return 1
  found=$(podman image inspect --format "{{index .Labels \"$KEY_LABEL\"}}" "$name" 2>/dev/null || true)
  [ "$found" = "<no value>" ] && found=""
  if [ -z "$found" ]; then
    log "$name: a real image is stored under that name; using it"
    return 0
  fi
  [ "$found" = "$key" ]
}

build_base() {
  local key tar rootfs work
  key=$( { cat "${BASH_SOURCE[0]}"; echo "$SUITE $MIRROR $(dpkg-query -W -f='${Version}' debootstrap) $(uname -m) $(date +%Y-%m)"; } | hash_of)
  BASE_IMAGE=localhost/poreguide-deploy/bookworm:$key
  if podman image exists "$BASE_IMAGE"; then
    log "bookworm base: cached ($BASE_IMAGE)"
    return
  fi
  mkdir -p "$CACHE_DIR"
  tar=$CACHE_DIR/bookworm-minbase-$key.tar
  if [ ! -s "$tar" ]; then
    log "bookworm base: debootstrap --variant=minbase $SUITE $MIRROR (about a minute)"
    work=$(mktemp -d "$CACHE_DIR/rootfs.XXXXXX")
    TEMPORARY+=("$work" "$tar.part")
    rootfs=$work/rootfs
    if ! "${NICE[@]}" debootstrap --variant=minbase "$SUITE" "$rootfs" "$MIRROR" > "$work/debootstrap.log" 2>&1; then
      tail -20 "$work/debootstrap.log" >&2
      rm -rf "$work"
      return 1
    fi
    # The official debian images' sources: the release, its updates and the security archive.
    cat > "$rootfs/etc/apt/sources.list" <<SOURCES
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb ${SECURITY_MIRROR:-http://deb.debian.org/debian-security} $SUITE-security main
SOURCES
    # apt as in the official debian images: no package files or caches left in a layer, no translations.
    cat > "$rootfs/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
    echo 'Acquire::Languages "none";' > "$rootfs/etc/apt/apt.conf.d/docker-no-languages"
    cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
    "${NICE[@]}" chroot "$rootfs" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get upgrade -y -qq' \
      > "$work/upgrade.log" 2>&1 || { tail -20 "$work/upgrade.log" >&2; rm -rf "$work"; return 1; }
    chroot "$rootfs" apt-get clean
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/log/*.log
    : > "$rootfs/etc/resolv.conf"
    tar --numeric-owner -C "$rootfs" -cf "$tar.part" .
    mv "$tar.part" "$tar"
    rm -rf "$work"
    # Older keys of the same kind are of no further use.
    find "$CACHE_DIR" -maxdepth 1 -name 'bookworm-minbase-*.tar' ! -name "$(basename "$tar")" -delete
  else
    log "bookworm base: root filesystem from the cache ($tar)"
  fi
  podman import --quiet --change "LABEL $KEY_LABEL=$key" --change 'CMD ["bash"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' "$tar" "$BASE_IMAGE" >/dev/null
  log "bookworm base: imported as $BASE_IMAGE"
}

# Copies the local CPython 3.X ($1, from prefix $2) into $3/python, laid out as the official
# image has it in /usr/local.
stage_python() {
  local version=$1 prefix=$2 context=$3 file lib=lib/python$1
  mkdir -p "$context/python"
  tar -C "$prefix" \
    --exclude="$lib/test" --exclude="$lib/*/tests" --exclude="$lib/*/test" --exclude="$lib/idlelib" \
    --exclude="$lib/tkinter" --exclude="$lib/turtledemo" --exclude="$lib/lib-dynload/_tkinter*" \
    --exclude="$lib/site-packages" --exclude='__pycache__' --exclude='*.pyc' --exclude='libpython*.a' \
    --exclude='bin/idle*' --exclude="bin/python$version-gdb.py" -cf - bin include lib | tar -C "$context/python" -xf -
  # pip (and setuptools, which 3.10's ensurepip brings) as a fresh install has them; nothing else
  # the local installation gathered.
  mkdir -p "$context/python/$lib/site-packages"
  for file in "$prefix/$lib"/site-packages/{pip,pip-*.dist-info,setuptools,setuptools-*.dist-info,pkg_resources,_distutils_hack,distutils-precedence.pth,README.txt}; do
    [ -e "$file" ] && cp -a "$file" "$context/python/$lib/site-packages/"
  done
  find "$context/python" -name __pycache__ -prune -exec rm -rf {} +
  # Scripts and build settings name the prefix the interpreter was built for: make them say /usr/local.
  grep -rlI --null -F "$prefix" "$context/python/bin" "$context/python/lib/pkgconfig" \
      "$context/python/$lib"/_sysconfigdata*.py "$context/python/$lib"/config-"$version"* 2>/dev/null \
    | xargs -0 -r sed -i "s#$prefix#/usr/local#g"
}

# build_image <image name> <Containerfile> <extra key input> [python version, prefix]
build_image() {
  local name=$1 containerfile=$HERE/images/$2 extra=$3 version=${4:-} prefix=${5:-} key context
  key=$( { echo "$BASE_IMAGE $extra"; cat "$containerfile" "$HERE"/images/*.sh; } | hash_of)
  if image_is_current "$name" "$key"; then
    log "$name: cached"
    return
  fi
  context=$(mktemp -d /var/tmp/poreguide-image.XXXXXX)
  TEMPORARY+=("$context" "$context.log")
  cp "$HERE"/images/*.sh "$context/"
  [ -n "$version" ] && stage_python "$version" "$prefix" "$context"
  log "$name: building"
  local started=$SECONDS
  if ! "${NICE[@]}" podman build --quiet --layers=false --force-rm --build-arg "BASE=$BASE_IMAGE" \
        --build-arg "PYTHON_VERSION=$version" --label "$KEY_LABEL=$key" -f "$containerfile" -t "$name" \
        "$context" > "$context.log" 2>&1; then
    tail -30 "$context.log" >&2
    rm -rf "$context" "$context.log"
    return 1
  fi
  rm -rf "$context" "$context.log"
  log "$name: built in $((SECONDS - started)) s, $(podman image inspect --format '{{.Size}}' "$name" | awk '{printf "%.0f MB", $1/1e6}')"
}

build_base
# One Python image per `FROM python:3.X-slim-bookworm` of the Dockerfiles in deploy/.
for version in $(sed -n 's/^FROM python:\(3\.[0-9]*\)-slim-bookworm.*/\1/p' "$HERE"/../Dockerfile* | sort -u); do
  prefix=$(find_python "$version")
  build=$("$prefix/bin/python$version" -c 'import sys; print(sys.version.replace(chr(10), " "))')
  build_image "docker.io/library/python:$version-slim-bookworm" python-slim-bookworm.Containerfile \
    "$prefix $build" "$version" "$prefix"
done
build_image docker.io/library/postgres:15 postgres-15.Containerfile ""
build_image docker.io/library/redis:7 redis-7.Containerfile ""
build_image docker.io/library/nginx:1.27 nginx-1.27.Containerfile ""
# Base images of earlier keys (their stand-ins are rebuilt above); in use by nothing once rebuilt.
for image in $(podman images --format '{{.Repository}}:{{.Tag}}' localhost/poreguide-deploy/bookworm); do
  [ "$image" = "$BASE_IMAGE" ] || podman rmi "$image" >/dev/null 2>&1 || true
done
