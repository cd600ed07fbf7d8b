#!/usr/bin/env bash
# sweepd on a set of machines without Docker: a Ray head, Ray worker nodes, PostgreSQL and the
# API, the same topology as docker-compose.yml. Run each command on the machine it is for; every
# machine needs this checkout with its virtualenv (./scripts/setup.sh), the same Python and Ray
# versions everywhere (Ray refuses mismatched nodes). the README's "Scaling out" section walks through it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() {
  cat <<'EOF'
usage: scripts/cluster.sh COMMAND [options] [-- extra `ray start` options]

On the head machine:
  head     [--port P] [--num-cpus N] [--num-gpus N] [--resources JSON] [--block]
           Start the Ray head (port 6379 by default). It runs Ray's control plane and no
           trials unless --num-cpus/--num-gpus give it some (default 0 CPUs, 0 GPUs).
On each worker machine:
  worker   --address HEAD:PORT [--num-cpus N] [--num-gpus N] [--resources JSON] [--block]
           Join the cluster as a worker node (CPUs and GPUs detected unless given).
On the database machine (or anywhere psql reaches the server as an admin):
  db       Create the role and database if missing. Needs SWEEPD_DB_PASSWORD; uses
           SWEEPD_DB_NAME / SWEEPD_DB_USER (default sweepd) and psql's PGHOST, PGPORT, PGUSER.
On the API machine:
  migrate  Upgrade the schema (sweepd migrate; needs SWEEPD_DATABASE_URL).
  api      [--address HEAD:PORT] [--join] [--host H] [--port P]
           Run the API and the dispatcher (sweepd serve) against the cluster. A Ray driver must
           run on a Ray node: run it on the head machine, or pass --join to make this machine
           a node without CPUs or GPUs first.
  dispatcher [--address HEAD:PORT] [--join]
           Run only the dispatcher (API replicas then run `sweepd serve --no-dispatcher`).
Anywhere:
  status   [--address HEAD:PORT] [--url URL]   Ray's resources and the API's /readyz.
  launch   --head HOST --workers "HOST..." [--api HOST] [--dir PATH] [--env-file PATH]
           [--port P] [--dry-run]
           Start the head, the workers, the migration and the API over ssh. The API host reads
           its settings from --env-file there (default /etc/sweepd/sweepd.env); --dir is the
           checkout on every host (default: this one's path). --dry-run prints the commands.
  stop     Stop every Ray process on THIS machine (`ray stop`), e.g. before a restart.

Environment: RAY_ADDRESS (default for --address), RAY_PORT (6379), SWEEPD_VENV (where bin/ray
and bin/sweepd are; default ./.venv, else PATH), SWEEPD_ENV_FILE (a file of KEY=value lines
sourced first, e.g. SWEEPD_DATABASE_URL=...; keep it readable by the service user only).
RAY_AUTH_MODE=token and RAY_AUTH_TOKEN (`openssl rand -hex 32`, the same on every machine and
for the API) turn on Ray's token authentication: nodes and drivers without it are refused.
EOF
}

warn_auth() {
  # Without RAY_AUTH_MODE, Ray decides per process: a head that finds ~/.ray/auth_token turns
  # authentication on, and a worker elsewhere without that file then cannot join.
  if [[ -z "${RAY_AUTH_MODE:-}" ]]; then
    echo "cluster.sh: RAY_AUTH_MODE is not set; set RAY_AUTH_MODE=token and RAY_AUTH_TOKEN" \
         "on every machine (or RAY_AUTH_MODE=disabled on a trusted network)" >&2
  fi
}

die() { echo "cluster.sh: $*" >&2; exit 2; }

load_env_file() {
  if [[ -n "${SWEEPD_ENV_FILE:-}" ]]; then
    [[ -r "$SWEEPD_ENV_FILE" ]] || die "cannot read SWEEPD_ENV_FILE=$SWEEPD_ENV_FILE"
    set -a
    # shellcheck disable=SC1090
    source "$SWEEPD_ENV_FILE"
    set +a
  fi
}

bin_dir() {
  if [[ -n "${SWEEPD_VENV:-}" ]]; then
    echo "$SWEEPD_VENV/bin/"
  elif [[ -x "$ROOT/.venv/bin/ray" ]]; then
    echo "$ROOT/.venv/bin/"
  fi
}

# Parse the node options shared by head and worker into RAY_ARGS; stop at `--`.
parse_node_options() {
  RAY_ARGS=()
  BLOCK=()
  while (($#)); do
    case "$1" in
      --port|--num-cpus|--num-gpus|--resources|--address)
        (($# >= 2)) || die "$1 needs a value"
        RAY_ARGS+=("$1=$2"); shift 2 ;;
      --block) BLOCK=(--block); shift ;;
      --) shift; RAY_ARGS+=("$@"); return ;;
      -h|--help) usage; exit 0 ;;
      *) die "unknown option $1 (extra ray start options go after --)" ;;
    esac
  done
}

has_option() {
  local name="$1"; shift
  local arg
  for arg in "$@"; do [[ "$arg" == "$name" || "$arg" == "$name="* ]] && return 0; done
  return 1
}

cmd_head() {
  warn_auth
  parse_node_options "$@"
  has_option --port "${RAY_ARGS[@]}" || RAY_ARGS+=("--port=${RAY_PORT:-6379}")
  has_option --num-cpus "${RAY_ARGS[@]}" || RAY_ARGS+=(--num-cpus=0)
  has_option --num-gpus "${RAY_ARGS[@]}" || RAY_ARGS+=(--num-gpus=0)
  exec "$(bin_dir)ray" start --head --disable-usage-stats "${RAY_ARGS[@]}" "${BLOCK[@]}"
}

cmd_worker() {
  warn_auth
  parse_node_options "$@"
  if ! has_option --address "${RAY_ARGS[@]}"; then
    [[ -n "${RAY_ADDRESS:-}" ]] || die "worker needs --address HEAD:PORT (or RAY_ADDRESS)"
    RAY_ARGS+=("--address=$RAY_ADDRESS")
  fi
  exec "$(bin_dir)ray" start --disable-usage-stats "${RAY_ARGS[@]}" "${BLOCK[@]}"
}

cmd_db() {
  : "${SWEEPD_DB_PASSWORD:?set SWEEPD_DB_PASSWORD (never written to disk by this script)}"
  local name="${SWEEPD_DB_NAME:-sweepd}" user="${SWEEPD_DB_USER:-sweepd}"
  # psql quotes :'var' as a literal and format() quotes identifiers: no injection through names.
  psql -X -q -v ON_ERROR_STOP=1 -v dbname="$name" -v dbuser="$user" \
       -v dbpassword="$SWEEPD_DB_PASSWORD" -d "${PGDATABASE:-postgres}" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'dbuser', :'dbpassword')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'dbuser') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'dbname', :'dbuser')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'dbname') \gexec
SQL
  echo "database $name ready; set on the API machine:"
  echo "  SWEEPD_DATABASE_URL=postgresql://$user:<password>@${PGHOST:-$(hostname -f)}:${PGPORT:-5432}/$name"
}

cmd_migrate() {
  [[ -n "${SWEEPD_DATABASE_URL:-}" ]] || die "set SWEEPD_DATABASE_URL (postgresql://...)"
  exec "$(bin_dir)sweepd" migrate "$@"
}

# api / dispatcher: [--address A] [--join] [--host H] [--port P]
cmd_service() {
  local what="$1"; shift
  local join=0 address="${SWEEPD_RAY_ADDRESS:-${RAY_ADDRESS:-}}"
  local -a serve_args=()
  while (($#)); do
    case "$1" in
      --address) address="$2"; shift 2 ;;
      --join) join=1; shift ;;
      --host|--port) [[ "$what" == serve ]] || die "$1: only for api"; serve_args+=("$1" "$2"); shift 2 ;;
      -h|--help) usage; exit 0 ;;
      *) die "unknown option $1" ;;
    esac
  done
  [[ -n "$address" ]] || die "$what needs --address HEAD:PORT (or RAY_ADDRESS)"
  [[ -n "${SWEEPD_DATABASE_URL:-}" ]] || die "set SWEEPD_DATABASE_URL (postgresql://...)"
  warn_auth
  if ((join)); then
    "$(bin_dir)ray" start --address="$address" --num-cpus=0 --num-gpus=0 --disable-usage-stats
  fi
  export SWEEPD_RAY_ADDRESS="$address"
  exec "$(bin_dir)sweepd" "$what" "${serve_args[@]}"
}

cmd_status() {
  local address="${RAY_ADDRESS:-127.0.0.1:${RAY_PORT:-6379}}" url="${SWEEPD_URL:-http://127.0.0.1:8642}"
  while (($#)); do
    case "$1" in
      --address) address="$2"; shift 2 ;;
      --url) url="$2"; shift 2 ;;
      *) die "unknown option $1" ;;
    esac
  done
  "$(bin_dir)ray" status --address="$address"
  "$(bin_dir)python3" - "$url/readyz" <<'PY'
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=5) as reply:
    print(reply.status, reply.read().decode())
PY
}

cmd_launch() {
  local head="" workers="" api="" dir="$ROOT" dry=0 port="${RAY_PORT:-6379}"
  local env_file="${SWEEPD_ENV_FILE:-/etc/sweepd/sweepd.env}"
  while (($#)); do
    case "$1" in
      --head) head="$2"; shift 2 ;;
      --workers) workers="$2"; shift 2 ;;
      --api) api="$2"; shift 2 ;;
      --dir) dir="$2"; shift 2 ;;
      --port) port="$2"; shift 2 ;;
      --env-file) env_file="$2"; shift 2 ;;
      --dry-run) dry=1; shift ;;
      *) die "unknown option $1" ;;
    esac
  done
  [[ -n "$head" && -n "$workers" ]] || die "launch needs --head HOST and --workers \"HOST...\""
  api="${api:-$head}"
  local -a steps=("$head|scripts/cluster.sh head --port $port")
  local w
  for w in $workers; do steps+=("$w|scripts/cluster.sh worker --address $head:$port"); done
  local join=""
  [[ "$api" == "$head" ]] || join=" --join"
  local env
  env="SWEEPD_ENV_FILE=$(printf %q "$env_file")"
  steps+=("$api|$env scripts/cluster.sh migrate")
  steps+=("$api|$env nohup scripts/cluster.sh api --address $head:$port$join < /dev/null >> sweepd-api.log 2>&1 &")
  local step host remote
  for step in "${steps[@]}"; do
    host="${step%%|*}"
    remote="cd $(printf %q "$dir") && ${step#*|}"
    # The remote command is built here on purpose (paths quoted with %q above).
    # shellcheck disable=SC2029
    if ((dry)); then echo "ssh $host $remote"; else ssh "$host" "$remote"; fi
  done
}

main() {
  (($#)) || { usage; exit 2; }
  local command="$1"; shift
  load_env_file
  case "$command" in
    head) cmd_head "$@" ;;
    worker) cmd_worker "$@" ;;
    db) cmd_db "$@" ;;
    migrate) cmd_migrate "$@" ;;
    api) cmd_service serve "$@" ;;
    dispatcher) cmd_service dispatcher "$@" ;;
    status) cmd_status "$@" ;;
    launch) cmd_launch "$@" ;;
    stop) exec "$(bin_dir)ray" stop ;;
    -h|--help|help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
