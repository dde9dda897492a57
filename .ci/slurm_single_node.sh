#!/usr/bin/env bash
# A single-node Slurm (Debian's slurm-wlm and munge) on this machine, for the Slurm test
# of tests/test_dask_runner.py. Needs root; prints one line and exits 1 when it cannot.
set -uo pipefail
fail() { echo "single-node Slurm not started: $*"; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root"
if ! command -v slurmctld >/dev/null 2>&1; then
  (apt-get update -qq && apt-get install -y -qq slurm-wlm munge >/dev/null 2>&1) || fail "apt-get install slurm-wlm munge failed"
fi
if sinfo -h -o %T 2>/dev/null | grep -qE 'idle|mix|alloc'; then exit 0; fi  # already up
node=$(hostname -s)
cpus=$(nproc)
memory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 8 / 10 ))  # MB, 80%
mkdir -p /etc/munge /run/munge /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
[ -f /etc/munge/munge.key ] || head -c 1024 /dev/urandom > /etc/munge/munge.key
chown -R munge:munge /etc/munge /run/munge 2>/dev/null; chmod 400 /etc/munge/munge.key
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=local
SlurmctldHost=$node
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
NodeName=$node CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
pgrep -x munged >/dev/null || su -s /bin/sh munge -c /usr/sbin/munged || /usr/sbin/munged --force || fail "munged did not start"
pgrep -x slurmctld >/dev/null || /usr/sbin/slurmctld || fail "slurmctld did not start"
pgrep -x slurmd >/dev/null || /usr/sbin/slurmd || fail "slurmd did not start"
for _ in $(seq 30); do
  sinfo -h -o %T 2>/dev/null | grep -qE 'idle|mix' && { echo "single-node Slurm up on $node ($cpus CPUs)"; exit 0; }
  sleep 1
done
fail "the node did not become idle (see /var/log/slurm/)"
