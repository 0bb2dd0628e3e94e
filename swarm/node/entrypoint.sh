#!/bin/sh
# PID 1 of a swarm lab node: write daemon.json, pick the storage driver, exec dockerd.
#   LAB_NODE_IP     this node's address on the lab network (API on tcp://LAB_NODE_IP:2375)
#   LAB_REGISTRY    host:port of the lab registry (plain HTTP, so listed as insecure)
#   LAB_CGROUP_PARENT  cgroup parent of this node's containers (one per node, so nodes never mix)
#   LAB_STORAGE_DRIVER overlay2 | vfs | auto (default auto: overlay2 when a test mount works)
#   LAB_REGISTRY_LOOPBACK  127.0.0.1:PORT on which the host reaches the registry: socat listens on
#                   the same address inside the node and forwards to LAB_REGISTRY, so an image
#                   pushed from the host as 127.0.0.1:PORT/x/y:tag is pulled under that same name
#                   (Docker treats loopback registries as insecure; Docker's swarm docs use
#                   127.0.0.1:5000/… on every node the same way)
# Tasks get this node's own address as their upstream DNS server, where nothing listens: names
# outside the swarm fail at once instead of going to a public resolver (dockerd would fall back
# to 8.8.8.8, since the node's resolv.conf only lists the loopback 127.0.0.11).
set -eu
ip="${LAB_NODE_IP:?LAB_NODE_IP is required}"
registry="${LAB_REGISTRY:-}"
parent="${LAB_CGROUP_PARENT:-/ha-stack-lab}"
driver="${LAB_STORAGE_DRIVER:-auto}"
loopback="${LAB_REGISTRY_LOOPBACK:-}"

if [ "$driver" = auto ]; then
  probe=/var/lib/docker/.overlay-probe
  rm -rf "$probe"
  mkdir -p "$probe/l" "$probe/u" "$probe/w" "$probe/m"
  if mount -t overlay overlay -o "lowerdir=$probe/l,upperdir=$probe/u,workdir=$probe/w" "$probe/m" 2>/dev/null; then
    umount "$probe/m"
    driver=overlay2
  else
    driver=vfs
  fi
  rm -rf "$probe"
fi
echo "lab-node: storage driver $driver, api tcp://$ip:2375, registry ${registry:-none}, cgroup parent $parent"

insecure=""
[ -n "$registry" ] && insecure="\"$registry\""
mkdir -p /etc/docker
cat >/etc/docker/daemon.json <<JSON
{
  "hosts": ["unix:///var/run/docker.sock", "tcp://$ip:2375"],
  "tls": false,
  "storage-driver": "$driver",
  "exec-opts": ["native.cgroupdriver=cgroupfs"],
  "cgroup-parent": "$parent",
  "insecure-registries": [$insecure],
  "dns": ["$ip"],
  "log-driver": "json-file",
  "log-opts": {"max-size": "5m", "max-file": "2"}
}
JSON
if [ -n "$loopback" ] && [ -n "$registry" ]; then
  # A child of this shell; exec below turns the shell into dockerd (PID 1), its parent from then on.
  socat "TCP-LISTEN:${loopback##*:},bind=${loopback%:*},fork,reuseaddr" "TCP:$registry" &
  echo "lab-node: registry also at $loopback (socat to $registry)"
fi
# What a killed dockerd left in /run (the container's own filesystem, kept across docker start):
# with a stale containerd.pid whose number is in use again, dockerd waits for a containerd that
# is not there and gives up after 15 s ("timeout waiting for containerd to start").
rm -rf /run/docker /run/docker.pid /run/docker.sock /run/containerd
exec dockerd
