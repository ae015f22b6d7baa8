#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for the cluster test (tests/test_cluster.py).
#
#   tests/cluster/slurm.sh start    # prints "export SLURM_CONF=..." for the clients
#   tests/cluster/slurm.sh status   # exit 0 when the node is idle and takes jobs
#   tests/cluster/slurm.sh stop     # stops the daemons and removes the state folder
#
# Debian's packages (apt-get install -y slurm-wlm, which brings munge); run as root. munged,
# slurmctld and slurmd run as root with every file under $SLURM_TEST_DIR (default
# /tmp/noise-injection-slurm): munge key and socket, slurm.conf, gres.conf, spool, state,
# logs. The node declares the machine's real cores and memory (slurmd -C) and ONE GPU as a
# generic resource backed by a dummy device file (gres.conf AutoDetect=off), so that jobs
# asking for gres:gpu:1 are scheduled and recorded as on a GPU cluster. No accounting
# database: `sacct` has nothing to read, so finished jobs stay visible to `squeue` and
# `scontrol show job` for MinJobAge = 3600 s (the status command the SLURM plugin needs then
# is squeue; see profiles/slurm/status-command).
#
# Outside $SLURM_TEST_DIR one thing is written: the symlink /etc/slurm/slurm.conf -> the
# test's slurm.conf (refused when a real configuration or a running test cluster's is there;
# one left by a test cluster killed before its stop is replaced; removed by stop). Clients
# find the configuration through $SLURM_CONF, but the plugin's job step
# (snakemake-executor-plugin-slurm-jobstep) drops every SLURM_* variable but the job's
# identity before its inner `srun`, which then looks at the default path, as on a real
# cluster.
set -euo pipefail

DIR=${SLURM_TEST_DIR:-/tmp/noise-injection-slurm}
CONF=$DIR/slurm.conf
NODE=$(hostname -s)
DEFAULT_CONF=/etc/slurm/slurm.conf

die() { echo "slurm.sh: $*" >&2; exit 1; }

need() {
  [ "$(id -u)" = 0 ] || die "must run as root (munged, slurmctld and slurmd run as root)"
  local tool
  for tool in munged mungekey slurmctld slurmd sbatch squeue scontrol sinfo; do
    command -v "$tool" >/dev/null || PATH=$PATH:/usr/sbin command -v "$tool" >/dev/null ||
      die "'$tool' not found: apt-get install -y slurm-wlm"
  done
  export PATH=$PATH:/usr/sbin
}

write_config() {
  # slurmd -C: "NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ..."
  local hardware
  hardware=$(slurmd -C | head -n 1 | sed "s/^NodeName=[^ ]* //")
  touch "$DIR/gpu0"  # the dummy device file behind the declared GPU
  cat >"$CONF" <<EOF
ClusterName=noiseinjection
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$DIR/munge.socket
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
SlurmctldPort=${SLURM_TEST_CTLD_PORT:-16817}
SlurmdPort=${SLURM_TEST_SLURMD_PORT:-16818}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=3600
DefMemPerCPU=500
ReturnToService=2
SchedulerParameters=sched_interval=2
MessageTimeout=30
NodeName=$NODE NodeAddr=127.0.0.1 $hardware Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
  printf 'AutoDetect=off\nNodeName=%s Name=gpu File=%s\n' "$NODE" "$DIR/gpu0" >"$DIR/gres.conf"
}

# A symlink target left by an earlier test cluster (one killed before its stop): gone, or a
# configuration this script wrote (its first line) whose slurmctld no longer runs.
leftover() {
  local target=$1 pid
  [ -e "$target" ] || return 0
  [ "$(head -n 1 "$target")" = "ClusterName=noiseinjection" ] || return 1
  pid=$(cat "$(dirname "$target")/slurmctld.pid" 2>/dev/null || true)
  [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null
}

start() {
  need
  [ -e "$DIR/slurmctld.pid" ] && die "a cluster seems to run already in $DIR (stop it first)"
  if [ -L "$DEFAULT_CONF" ] && [ "$(readlink "$DEFAULT_CONF")" != "$CONF" ] &&
     ! leftover "$(readlink "$DEFAULT_CONF")"; then
    die "$DEFAULT_CONF points to $(readlink "$DEFAULT_CONF"), which is not a stopped test" \
        "cluster's configuration (a real SLURM configuration, or a test cluster running): not touching it"
  elif [ -e "$DEFAULT_CONF" ] && [ ! -L "$DEFAULT_CONF" ]; then
    die "$DEFAULT_CONF exists (a real SLURM configuration?): not touching it"
  fi
  mkdir -p "$DIR/state" "$DIR/spool"
  chmod 700 "$DIR"
  [ -e "$DIR/munge.key" ] || mungekey --create --keyfile="$DIR/munge.key" 2>/dev/null ||
    dd if=/dev/urandom of="$DIR/munge.key" bs=1024 count=1 status=none
  chmod 600 "$DIR/munge.key"
  munged --key-file="$DIR/munge.key" --socket="$DIR/munge.socket" \
    --pid-file="$DIR/munged.pid" --log-file="$DIR/munged.log" \
    --seed-file="$DIR/munged.seed" --force
  write_config
  mkdir -p "$(dirname "$DEFAULT_CONF")"
  ln -sfn "$CONF" "$DEFAULT_CONF"
  export SLURM_CONF=$CONF
  slurmctld -f "$CONF" -i
  slurmd -f "$CONF" -N "$NODE"
  local daemon deadline=$((SECONDS + 60)) why="the node did not become idle within 60 s"
  while [ "$SECONDS" -lt "$deadline" ]; do
    if status >/dev/null 2>&1; then
      echo "export SLURM_CONF=$CONF"
      return 0
    fi
    for daemon in munged slurmctld slurmd; do
      kill -0 "$(cat "$DIR/$daemon.pid" 2>/dev/null || echo 0)" 2>/dev/null ||
        why="$daemon is not running"
    done
    [[ $why == *"not running" ]] && break
    sleep 1
  done
  echo "slurm.sh: $why; last log lines:" >&2
  tail -n 20 "$DIR"/slurmctld.log "$DIR"/slurmd.log "$DIR"/munged.log >&2 || true
  stop >/dev/null 2>&1 || true
  exit 1
}

status() {
  export SLURM_CONF=$CONF PATH=$PATH:/usr/sbin
  [ -e "$CONF" ] || die "no cluster in $DIR"
  local state
  state=$(timeout 5 sinfo --noheader --nodes="$NODE" --format=%T 2>/dev/null) || return 1
  echo "node $NODE: ${state:-unknown}"
  [[ $state == idle* || $state == mixed* || $state == allocated* ]]
}

stop() {
  local daemon pid
  for daemon in slurmd slurmctld munged; do
    [ -e "$DIR/$daemon.pid" ] || continue
    pid=$(cat "$DIR/$daemon.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  done
  if [ -L "$DEFAULT_CONF" ] && [ "$(readlink "$DEFAULT_CONF")" = "$CONF" ]; then
    rm -f "$DEFAULT_CONF"
  fi
  rm -rf "$DIR"
}

case "${1:-}" in
  start) start ;;
  status) status ;;
  stop) stop ;;
  *) die "usage: $0 start|status|stop (state in \$SLURM_TEST_DIR, default $DIR)" ;;
esac
