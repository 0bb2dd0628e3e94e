#!/usr/bin/env bash
# A three-node Docker Swarm lab on this one machine: three Docker hosts as Docker-in-Docker
# containers (each its own dockerd, its own address on the lab bridge network), joined as one
# swarm of three managers, plus a registry (Debian's docker-registry) that every node trusts.
# swarm/README.md has the addresses, the options that work here and the measured times.
#
#   scripts/swarm-lab.sh up            build the images, start (or repair) the lab; quick when it is up
#   scripts/swarm-lab.sh down [--images]   remove every container, network, volume and cgroup it
#                                      made (--images: its images too; kept by default as a cache)
#   scripts/swarm-lab.sh status        one line per part; exit 0 only when the swarm is healthy
#   scripts/swarm-lab.sh check         push a probe image from the host to the registry, pull it on every
#                                      node under the host's name (127.0.0.1:5055/…), run it as a
#                                      global dnsrr service on the overlay, check every task resolves
#                                      tasks.<service> to every task and reaches each one, clean up
#   scripts/swarm-lab.sh node-stop N | node-kill N | node-start N   docker stop / kill / start node N
#   scripts/swarm-lab.sh node-cut N | node-heal N   disconnect node N from the lab network / reconnect
#
# Reach a node's engine with `docker exec ha-stack-lab-node-N docker …` or
# `DOCKER_HOST=tcp://10.213.7.1N:2375 docker …`. Every step prints one line with its duration;
# every wait is bounded. Traffic goes only to the lab's addresses and the host's loopback.
#
# Environment: BASE_IMAGE (ha-stack-base:trixie), LAB_SUBNET_PREFIX (10.213.7: a /24),
# LAB_REGISTRY_PORT (5055, on 127.0.0.1), LAB_OVERLAY_POOL (10.214.0.0/16).
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=ha-stack-lab
label="ha-stack-lab=swarm"
base_image="${BASE_IMAGE:-ha-stack-base:trixie}"
subnet_prefix="${LAB_SUBNET_PREFIX:-10.213.7}"
registry_port="${LAB_REGISTRY_PORT:-5055}"
overlay_pool="${LAB_OVERLAY_POOL:-10.214.0.0/16}"
net="$prefix"
node_image="$prefix-node"
registry_image="$prefix-registry"
probe_image="$prefix-probe"
registry_name="$prefix-registry"
registry_ip="$subnet_prefix.5"
registry_addr="$registry_ip:5000"
# The same repository under two names: the host pushes through its loopback (which Docker
# always treats as insecure), the nodes pull from the registry's lab address.
probe_push_ref="127.0.0.1:$registry_port/$prefix/probe:lab"
probe_pull_ref="$registry_addr/$prefix/probe:lab"
probe_service="$prefix-probe"
probe_net="$prefix-probe-net"
nodes=(1 2 3)

node_name() { echo "$prefix-node-$1"; }
node_ip() { echo "$subnet_prefix.$((10 + $1))"; }
node_volume() { echo "$prefix-node-$1-docker"; }
# nd N ARGS…: the docker CLI inside node N (bounded: a wedged dockerd cannot hang the script).
nd() {
  local n=$1
  shift
  timeout 60 docker exec "$(node_name "$n")" docker "$@"
}

now() { date +%s.%N; }
# step START TEXT: the one line a step prints, with its duration.
step() { awk -v s="$1" -v e="$(now)" -v m="$2" 'BEGIN { printf "swarm-lab: %s (%.2f s)\n", m, e - s }'; }
fail() {
  echo "swarm-lab: $*" >&2
  exit 1
}
# wait_until SECONDS CMD…: poll CMD every half second until it succeeds; 1 when time runs out.
wait_until() {
  local deadline
  deadline=$(($(date +%s) + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}

container_state() {
  local state
  # (inspect of a missing container prints an empty line before it fails)
  state=$(docker container inspect -f '{{.State.Status}}' "$1" 2>/dev/null) || state=missing
  echo "$state"
}
on_lab_net() { docker container inspect -f "{{if index .NetworkSettings.Networks \"$net\"}}yes{{end}}" "$1" 2>/dev/null | grep -q yes; }
node_up() { [ "$(container_state "$(node_name "$1")")" = running ] && on_lab_net "$(node_name "$1")"; }
engine_answers() { nd "$1" version --format '{{.Server.Version}}'; }
registry_answers() { curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$registry_port/v2/"; }

# Swarm view from node N: "hostname status manager-status" per node.
swarm_view() { nd "$1" node ls --format '{{.Hostname}} {{.Status}} {{.ManagerStatus}}'; }
# node_healthy_in VIEW N: node-N Ready and a reachable manager (or the leader) in VIEW.
node_healthy_in() { grep -Eq "^node-$2 Ready (Leader|Reachable)$" <<<"$1"; }
# view_healthy_for VIEW N…: VIEW has exactly one entry per node (a node that joined again
# leaves its old entry behind) and nodes N… Ready and reachable managers (or the leader) in it.
view_healthy_for() {
  local view=$1 m
  shift
  [ "$(grep -c . <<<"$view")" -eq "${#nodes[@]}" ] || return 1
  for m in "$@"; do node_healthy_in "$view" "$m" || return 1; done
}
# swarm_healthy_for N…: nodes N… Ready and reachable managers (or the leader), as seen from the
# first running node that has a quorum.
swarm_healthy_for() {
  local n view
  for n in "${nodes[@]}"; do
    node_up "$n" || continue
    view=$(swarm_view "$n" 2>/dev/null) || continue
    view_healthy_for "$view" "$@"
    return
  done
  return 1
}
swarm_healthy() { swarm_healthy_for "${nodes[@]}"; }
# one_leader: every node answers from a quorum, sees all nodes Ready and reachable, and names
# the same leader (left in $agreed_leader). A node healed from a cut can look Ready from the
# leader's side before its own raft is back; asking each node catches that.
agreed_leader=""
one_leader() {
  local n view leader="" l
  for n in "${nodes[@]}"; do
    view=$(swarm_view "$n" 2>/dev/null) || return 1
    view_healthy_for "$view" "${nodes[@]}" || return 1
    l=$(awk '$3 == "Leader" { print $1 }' <<<"$view")
    [ -n "$l" ] && { [ -z "$leader" ] || [ "$l" = "$leader" ]; } || return 1
    leader=$l
  done
  agreed_leader=$leader
}
# wait_settled SECONDS: one_leader with one unchanged leader for $settle_hold s on end (longer
# than Swarm's 10 s election timeout), within SECONDS.
settle_hold=12
wait_settled() {
  local deadline leader="" since=0
  deadline=$(($(date +%s) + $1))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    if one_leader; then
      if [ "$agreed_leader" != "$leader" ]; then
        leader=$agreed_leader
        since=$(date +%s)
      elif [ $(($(date +%s) - since)) -ge "$settle_hold" ]; then
        echo "$leader"
        return 0
      fi
    else
      leader=""
    fi
    sleep 1
  done
  return 1
}
# seen_healthy_by N M…: node N itself has a quorum and sees nodes M… Ready and reachable.
seen_healthy_by() {
  local n=$1 m view
  shift
  view=$(swarm_view "$n" 2>/dev/null) || return 1
  for m in "$@"; do node_healthy_in "$view" "$m" || return 1; done
}
lab_healthy() {
  local n
  [ "$(container_state "$registry_name")" = running ] || return 1
  for n in "${nodes[@]}"; do node_up "$n" || return 1; done
  swarm_healthy
}

# context_hash DIR: what an image built from DIR on the base image depends on.
context_hash() {
  {
    (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
    docker image inspect -f '{{.Id}}' "$base_image"
  } | sha256sum | cut -c1-16
}
# ensure_image NAME DIR: build NAME from DIR unless an image of the same context exists.
ensure_image() {
  local t hash have log
  t=$(now)
  docker image inspect "$base_image" >/dev/null 2>&1 ||
    fail "base image $base_image is missing: run scripts/base-image.sh $base_image"
  hash=$(context_hash "$2")
  have=$(docker image inspect -f '{{index .Config.Labels "ha-stack-lab.context"}}' "$1" 2>/dev/null || true)
  if [ "$have" = "$hash" ]; then
    step "$t" "image $1 up to date"
    return
  fi
  if ! log=$(docker build -q --build-arg "BASE_IMAGE=$base_image" \
    --label "ha-stack-lab.context=$hash" -t "$1" "$2" 2>&1); then
    tail -n 20 <<<"$log" >&2
    fail "building $1 from $2 failed"
  fi
  step "$t" "image $1 built from $2"
}

ensure_network() {
  local t subnet
  t=$(now)
  if subnet=$(docker network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' "$net" 2>/dev/null); then
    [ "$subnet" = "$subnet_prefix.0/24" ] ||
      fail "network $net exists with subnet $subnet, not $subnet_prefix.0/24: run down first"
    step "$t" "network $net ($subnet) exists"
    return
  fi
  docker network create --driver bridge --subnet "$subnet_prefix.0/24" --gateway "$subnet_prefix.1" \
    --label "$label" "$net" >/dev/null
  step "$t" "network $net ($subnet_prefix.0/24) created"
}

# ensure_container NAME IMAGE RUN-ARGS…: run NAME, start it when stopped, recreate it when its
# image was rebuilt, reconnect it to the lab network when it was cut off. Says what it did.
ensure_container() {
  local name=$1 image=$2 ip=$3 state
  shift 3
  state=$(container_state "$name")
  if [ "$state" != missing ] &&
    [ "$(docker container inspect -f '{{.Image}}' "$name")" != "$(docker image inspect -f '{{.Id}}' "$image")" ]; then
    docker rm -f "$name" >/dev/null
    state=rebuilt
  fi
  case "$state" in
    missing | rebuilt)
      docker run -d --name "$name" --label "$label" --network "$net" --ip "$ip" "$@" "$image" >/dev/null
      [ "$state" = missing ] && echo created || echo "recreated (image rebuilt)"
      return
      ;;
    running) ;;
    paused)
      docker unpause "$name" >/dev/null
      state="unpaused"
      ;;
    *)
      docker start "$name" >/dev/null
      state="started (was $state)"
      ;;
  esac
  if ! on_lab_net "$name"; then
    docker network connect --ip "$ip" "$net" "$name"
    state="$state, reconnected"
  fi
  echo "$state"
}

ensure_registry() {
  local t state
  t=$(now)
  state=$(ensure_container "$registry_name" "$registry_image" "$registry_ip" \
    -p "127.0.0.1:$registry_port:5000" --memory 256m)
  wait_until 30 registry_answers || fail "registry did not answer on 127.0.0.1:$registry_port within 30 s"
  step "$t" "registry $registry_name $registry_addr (host 127.0.0.1:$registry_port): $state"
}

run_node_args() {
  local n=$1
  echo --hostname "node-$n" --stop-timeout 30 \
    --cap-add ALL --cap-drop SYS_RESOURCE \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    --security-opt systempaths=unconfined \
    -v /sys/fs/cgroup:/sys/fs/cgroup:rw --device /dev/net/tun \
    -v "$(node_volume "$n"):/var/lib/docker" \
    -e "LAB_NODE_IP=$(node_ip "$n")" -e "LAB_REGISTRY=$registry_addr" \
    -e "LAB_REGISTRY_LOOPBACK=127.0.0.1:$registry_port" \
    -e "LAB_CGROUP_PARENT=/$(node_name "$n")"
}

ensure_nodes() {
  local t n state
  for n in "${nodes[@]}"; do
    t=$(now)
    docker volume inspect "$(node_volume "$n")" >/dev/null 2>&1 ||
      docker volume create --label "$label" "$(node_volume "$n")" >/dev/null
    # shellcheck disable=SC2046 # run_node_args prints words without spaces inside them
    state=$(ensure_container "$(node_name "$n")" "$node_image" "$(node_ip "$n")" $(run_node_args "$n"))
    step "$t" "node-$n $(node_name "$n") $(node_ip "$n"): $state"
  done
  for n in "${nodes[@]}"; do
    t=$(now)
    wait_until 60 engine_answers "$n" ||
      fail "node-$n: dockerd did not answer within 60 s; docker logs $(node_name "$n") says why"
    step "$t" "node-$n dockerd $(engine_answers "$n") answers ($(nd "$n" info -f '{{.Driver}}'))"
  done
}

swarm_state() { nd "$1" info -f '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}'; }

# prune_stale: a node whose volume was lost joined again under a new ID; its old entry (same
# hostname, not Ready — it may even say Reachable, since raft finds the new node at its
# address) is demoted and removed, through node $lab_seed.
prune_stale() {
  local id state
  nd "$lab_seed" node ls --format '{{.ID}} {{.Hostname}} {{.Status}}' |
    awk '{ n[$2]++; line[NR] = $0 } END { for (i = 1; i <= NR; i++) { split(line[i], f, " "); if (n[f[2]] > 1) print line[i] } }' |
    while read -r id _ state; do
      [ "$state" != Ready ] || continue
      nd "$lab_seed" node demote "$id" >/dev/null 2>&1 || true
      nd "$lab_seed" node rm --force "$id" >/dev/null 2>&1 || true
    done
}
swarm_settled() {
  prune_stale >&2
  swarm_healthy
}

ensure_swarm() {
  local t n seed="" token
  t=$(now)
  for n in "${nodes[@]}"; do
    if [ "$(swarm_state "$n")" = "active true" ]; then
      seed=$n
      break
    fi
  done
  if [ -z "$seed" ]; then
    seed=1
    if [ "$(swarm_state 1)" = "inactive false" ]; then
      nd 1 swarm init --advertise-addr "$(node_ip 1)" --listen-addr "$(node_ip 1):2377" \
        --default-addr-pool "$overlay_pool" --default-addr-pool-mask-length 24 >/dev/null
      step "$t" "swarm initialised on node-1 (overlay pool $overlay_pool)"
    fi
  fi
  for n in "${nodes[@]}"; do
    [ "$(swarm_state "$n")" = "inactive false" ] || continue
    t=$(now)
    token=$(nd "$seed" swarm join-token -q manager)
    nd "$n" swarm join --token "$token" --advertise-addr "$(node_ip "$n")" \
      --listen-addr "$(node_ip "$n"):2377" "$(node_ip "$seed"):2377" >/dev/null
    step "$t" "node-$n joined as a manager through node-$seed"
  done
  t=$(now)
  lab_seed=$seed
  wait_until 120 swarm_settled || {
    status >&2 || true
    fail "the swarm did not report three Ready managers within 120 s"
  }
  step "$t" "swarm healthy: three managers Ready"
}

up() {
  local t0 t
  t0=$(now)
  t=$(now)
  if docker image inspect "$node_image" "$registry_image" >/dev/null 2>&1 &&
    [ "$(docker image inspect -f '{{index .Config.Labels "ha-stack-lab.context"}}' "$node_image")" = "$(context_hash swarm/node)" ] &&
    [ "$(docker image inspect -f '{{index .Config.Labels "ha-stack-lab.context"}}' "$registry_image")" = "$(context_hash swarm/registry)" ] &&
    lab_healthy && registry_answers; then
    step "$t" "lab already up: registry and three Ready managers"
    return
  fi
  ensure_image "$node_image" swarm/node
  ensure_image "$registry_image" swarm/registry
  ensure_network
  ensure_registry
  ensure_nodes
  ensure_swarm
  step "$t0" "up: done"
}

down() {
  local t0 t ids
  t0=$(now)
  t=$(now)
  ids=$(docker ps -aq --filter "label=$label")
  # shellcheck disable=SC2086 # container IDs
  [ -z "$ids" ] || docker rm -f -v $ids >/dev/null
  step "$t" "containers removed ($(wc -w <<<"$ids"))"
  t=$(now)
  if docker network inspect "$net" >/dev/null 2>&1; then docker network rm "$net" >/dev/null; fi
  ids=$(docker volume ls -q --filter "label=$label")
  # shellcheck disable=SC2086 # volume names
  [ -z "$ids" ] || docker volume rm $ids >/dev/null
  step "$t" "network and volumes removed ($(wc -w <<<"$ids") volumes)"
  t=$(now)
  # Each node's containers lived under /sys/fs/cgroup[/<controller>]/ha-stack-lab-node-N.
  local dirs
  dirs=$(find /sys/fs/cgroup -mindepth 1 -maxdepth 2 -type d -name "$prefix-node-*" 2>/dev/null || true)
  # shellcheck disable=SC2086 # cgroup paths have no spaces
  [ -z "$dirs" ] || find $dirs -depth -type d -exec rmdir {} + 2>/dev/null || true
  # By tag, not ID: the probe image itself stays (a build cache like the other lab images).
  # A tag pushed again leaves its old image behind as <repo>:<none>, which is no reference:
  # those go by <repo>@<digest> (only that reference; the image may carry other names).
  ids=$(docker image ls --digests --format '{{.Repository}}:{{.Tag}} {{.Repository}}@{{.Digest}}' \
    --filter "reference=127.0.0.1:$registry_port/$prefix/*" |
    awk '$1 !~ /:<none>$/ { print $1; next } $2 !~ /@<none>$/ { print $2 }' | sort -u)
  # shellcheck disable=SC2086 # image references
  local ref kept=0
  for ref in $ids; do
    # A reference another image or a stopped container still holds stays (the lab is down anyway).
    docker image rm "$ref" >/dev/null 2>&1 || kept=$((kept + 1))
  done
  [ "$kept" = 0 ] || echo "swarm-lab: $kept pushed image reference(s) still in use, left in place" >&2
  if [ "${1:-}" = --images ]; then
    for i in "$node_image" "$registry_image" "$probe_image"; do
      docker image rm "$i" >/dev/null 2>&1 || true
    done
  fi
  step "$t" "cgroups and pushed tags removed${1:+, lab images removed}"
  step "$t0" "down: done"
}

status() {
  local n name state ok=0 view="" info
  if docker network inspect "$net" >/dev/null 2>&1; then
    echo "swarm-lab: network $net $subnet_prefix.0/24"
  else
    echo "swarm-lab: network $net missing"
    ok=1
  fi
  state=$(container_state "$registry_name")
  if [ "$state" = running ] && registry_answers; then state="$state, /v2/ answers"; else ok=1; fi
  echo "swarm-lab: registry $registry_name $registry_addr (host 127.0.0.1:$registry_port): $state"
  for n in "${nodes[@]}"; do
    if node_up "$n" && [ -z "$view" ]; then view=$(swarm_view "$n" 2>/dev/null || true); fi
  done
  for n in "${nodes[@]}"; do
    name=$(node_name "$n")
    state=$(container_state "$name")
    if [ "$state" = running ]; then
      on_lab_net "$name" || state="$state, cut off the lab network"
      info=$(nd "$n" info -f 'dockerd {{.ServerVersion}} {{.Driver}}, swarm {{.Swarm.LocalNodeState}}' 2>/dev/null) || info="dockerd not answering"
      state="$state, $info"
    fi
    state="$state, in the swarm's view: $(grep "^node-$n " <<<"$view" | cut -d' ' -f2- | paste -sd'|' || true)"
    node_healthy_in "$view" "$n" || ok=1
    echo "swarm-lab: node-$n $name $(node_ip "$n") tcp://$(node_ip "$n"):2375: $state"
  done
  if [ -z "$view" ]; then
    echo "swarm-lab: no running node has a swarm quorum"
  elif [ "$(grep -c . <<<"$view")" -ne "${#nodes[@]}" ]; then
    echo "swarm-lab: the swarm lists $(grep -c . <<<"$view") nodes, not ${#nodes[@]} (up removes stale entries)"
    ok=1
  fi
  if [ $ok = 0 ]; then echo "swarm-lab: healthy"; else echo "swarm-lab: degraded"; fi
  return $ok
}

# probe_task_ip N: the overlay address of the probe task on node N.
probe_task() { nd "$1" ps -q --filter "label=com.docker.swarm.service.name=$probe_service" | head -n 1; }
probe_spread() {
  local n c
  for n in "${nodes[@]}"; do
    c=$(probe_task "$n")
    [ -n "$c" ] && [ "$(nd "$n" inspect -f '{{.State.Running}}' "$c")" = true ] || return 1
  done
}

probe_net_gone() { ! nd 1 network inspect "$probe_net" >/dev/null 2>&1; }
probe_net_removed() { probe_net_gone || nd 1 network rm "$probe_net"; }
# remove_probe: the probe service, then its network once no task uses it (both asynchronous).
remove_probe() {
  nd 1 service rm "$probe_service" >/dev/null 2>&1 || true
  wait_until 30 probe_net_removed && wait_until 30 probe_net_gone
}

check() {
  local t0 t n m c ip expected resolved body failed=0
  t0=$(now)
  lab_healthy || fail "the lab is not healthy: run scripts/swarm-lab.sh up (status says what is wrong)"
  ensure_image "$probe_image" swarm/probe
  t=$(now)
  docker tag "$probe_image" "$probe_push_ref"
  docker push -q "$probe_push_ref" >/dev/null
  step "$t" "pushed $probe_push_ref (nodes pull $probe_pull_ref)"
  # The same tag under the host's name: each node's socat forwards its own 127.0.0.1:$registry_port.
  for n in "${nodes[@]}"; do
    t=$(now)
    nd "$n" pull -q "$probe_push_ref" >/dev/null ||
      fail "node-$n could not pull $probe_push_ref (socat forwarder to $registry_addr)"
    nd "$n" image rm "$probe_push_ref" >/dev/null
    step "$t" "node-$n pulled $probe_push_ref through its 127.0.0.1:$registry_port forwarder"
  done
  t=$(now)
  remove_probe || fail "could not remove an old $probe_service and $probe_net"
  nd 1 network create --driver overlay --attachable "$probe_net" >/dev/null
  nd 1 service create -d -q --name "$probe_service" --mode global --endpoint-mode dnsrr --init \
    --network "$probe_net" --stop-grace-period 5s "$probe_pull_ref" >/dev/null
  wait_until 120 probe_spread || {
    nd 1 service ps --no-trunc "$probe_service" >&2 || true
    fail "the probe service did not run a task on every node within 120 s"
  }
  step "$t" "service $probe_service (global, dnsrr, overlay $probe_net) pulled and running on 3 nodes"
  declare -A ips names
  for n in "${nodes[@]}"; do
    c=$(probe_task "$n")
    ips[$n]=$(nd "$n" inspect -f "{{(index .NetworkSettings.Networks \"$probe_net\").IPAddress}}" "$c")
    names[$n]=$(nd "$n" inspect -f '{{.Config.Hostname}}' "$c")
  done
  expected=$(printf '%s\n' "${ips[@]}" | sort | tr '\n' ' ')
  for n in "${nodes[@]}"; do
    t=$(now)
    c=$(probe_task "$n")
    resolved=$(nd "$n" exec "$c" nslookup "tasks.$probe_service" 2>/dev/null |
      awk '/^Name:/ { answer = 1 } answer && /^Address:/ { print $2 }' | sort -u | tr '\n' ' ')
    if [ "$resolved" != "$expected" ]; then
      echo "swarm-lab: node-$n: tasks.$probe_service resolves to [$resolved], tasks are [$expected]" >&2
      failed=1
    fi
    for m in "${nodes[@]}"; do
      ip=${ips[$m]}
      body=$(nd "$n" exec "$c" wget -qO- -T 3 "http://$ip:8080/" 2>/dev/null || true)
      if [ "$body" != "${names[$m]}" ]; then
        echo "swarm-lab: node-$n: http://$ip:8080/ (task on node-$m) answered [$body], not [${names[$m]}]" >&2
        failed=1
      fi
    done
    step "$t" "node-$n task: tasks.$probe_service -> $resolved; reached the tasks on node-1..3 over the overlay"
  done
  t=$(now)
  if [ "${1:-}" = --keep ]; then
    step "$t" "probe service $probe_service and network $probe_net kept (--keep)"
  else
    remove_probe || fail "could not remove $probe_service and $probe_net"
    step "$t" "probe service and network removed"
  fi
  [ $failed = 0 ] || fail "check failed"
  step "$t0" "check: overlay, dnsrr and the registry work across all three nodes"
}

node_arg() {
  [[ "${1:-}" =~ ^[123]$ ]] || fail "node number is \"${1:-}\"; allowed: 1, 2, 3"
}

node_stop() {
  local t
  t=$(now)
  docker stop "$(node_name "$1")" >/dev/null
  step "$t" "node-$1 stopped (docker stop)"
}
node_kill() {
  local t
  t=$(now)
  if [ "$(container_state "$(node_name "$1")")" = running ]; then docker kill "$(node_name "$1")" >/dev/null; fi
  step "$t" "node-$1 killed (docker kill)"
}
node_start() {
  local t n=$1
  t=$(now)
  [ "$(container_state "$(node_name "$n")")" != missing ] || fail "node-$n does not exist: run up"
  [ "$(container_state "$(node_name "$n")")" = running ] || docker start "$(node_name "$n")" >/dev/null
  wait_until 60 engine_answers "$n" || fail "node-$n: dockerd did not answer within 60 s"
  step "$t" "node-$n started, dockerd answers"
  t=$(now)
  # Seen from the node itself: a node killed and started again before the managers noticed it
  # was gone still looks Ready to them; its own answer needs it back in the raft quorum.
  wait_until 120 seen_healthy_by "$n" "$n" ||
    fail "node-$n not Ready in the swarm within 120 s (status says more)"
  step "$t" "node-$n back in the swarm: Ready, manager reachable"
  local m leader
  for m in "${nodes[@]}"; do node_up "$m" || return 0; done
  t=$(now)
  leader=$(wait_settled 90) ||
    fail "the swarm did not settle within 90 s (three Ready managers, one leader for ${settle_hold} s)"
  step "$t" "swarm settled: three managers Ready, $leader leader for ${settle_hold} s"
}
# Cutting disconnects the node's only network interface: nothing of the swarm (raft on 2377,
# gossip on 7946, VXLAN on 4789) can reach it or leave it, whatever its own iptables say.
node_cut() {
  local t n=$1 other
  t=$(now)
  [ "$(container_state "$(node_name "$n")")" = running ] || fail "node-$n is not running"
  if on_lab_net "$(node_name "$n")"; then docker network disconnect "$net" "$(node_name "$n")"; fi
  other=$(((n % 3) + 1))
  if docker exec "$(node_name "$n")" ip -4 -o addr show | grep -q " $subnet_prefix\."; then
    fail "node-$n still has an address on the lab network"
  fi
  if node_up "$other" && docker exec "$(node_name "$other")" ping -c 1 -W 1 "$(node_ip "$n")" >/dev/null 2>&1; then
    fail "node-$n still answers pings from node-$other"
  fi
  step "$t" "node-$n cut off: no lab address, $(node_ip "$n") unreachable from node-$other"
}
node_heal() {
  local t n=$1 leader
  t=$(now)
  on_lab_net "$(node_name "$n")" || docker network connect --ip "$(node_ip "$n")" "$net" "$(node_name "$n")"
  step "$t" "node-$n reconnected at $(node_ip "$n")"
  t=$(now)
  leader=$(wait_settled 150) ||
    fail "the swarm did not settle within 150 s of the heal (three Ready managers, one leader for ${settle_hold} s)"
  step "$t" "node-$n healed: three managers Ready, $leader leader for ${settle_hold} s"
}

cmd="${1:-}"
shift || true
case "$cmd" in
  up) up ;;
  down) down "$@" ;;
  status) status ;;
  check) check "$@" ;;
  node-stop | node-kill | node-start | node-cut | node-heal)
    node_arg "${1:-}"
    "${cmd//-/_}" "$1"
    ;;
  *)
    echo "usage: scripts/swarm-lab.sh up|down [--images]|status|check [--keep]|node-stop N|node-start N|node-kill N|node-cut N|node-heal N" >&2
    exit 2
    ;;
esac
