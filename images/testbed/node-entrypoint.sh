#!/bin/sh
# The test bed's node host (compose.yaml's nodeN-host): what a machine of a cluster runs below its
# kubelet. In order:
#   1. cgroup v1 hierarchies mounted afresh, writable (Docker's read-only ones unmounted, a tmpfs
#      on /sys/fs/cgroup, then one `mount -t cgroup -o <controllers>` per hierarchy of
#      /proc/cgroups); compose has no private cgroup namespace, so these are the machine's whole
#      hierarchies and the engine gets its own --cgroup-parent ($JETKUBE_NODE_DOCKERD_ARGS);
#   2. dockerd on the node's own data root (/var/lib/docker, a volume) and socket ($DOCKER_HOST,
#      in a volume the kubelet's container mounts too), its log in /var/log/dockerd.log;
#   3. waits for the engine to answer;
#   4. `jetkube "$@"` (the node's service proxy) in a restart loop, in this network namespace.
# SIGTERM stops the proxy, then the engine. Arguments: the jetkube command line of the proxy (none:
# no proxy).
set -eu

DOCKER_HOST="${DOCKER_HOST:-unix:///run/jetkube-node/docker.sock}"
SOCKET="${DOCKER_HOST#unix://}"
DRIVER="${JETKUBE_NODE_STORAGE_DRIVER:-overlay2}"
log() { echo "jetkube-node: $*" >&2; }

mount_cgroups() {
	if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
		mount -o remount,rw /sys/fs/cgroup 2>/dev/null || true  # v2: the container's own tree
		return 0
	fi
	if [ -f /sys/fs/cgroup/.jetkube-node ]; then return 0; fi
	# Docker's read-only view (each hierarchy rooted at this container's cgroup) goes first: runc
	# reads the first cgroup mount of each hierarchy in mountinfo, even a hidden one
	umount -R /sys/fs/cgroup
	mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
	touch /sys/fs/cgroup/.jetkube-node
	# controllers that share a hierarchy on the host (same id in /proc/cgroups) mount together
	awk 'NR > 1 && $2 > 0 && $4 == 1 { h[$2] = (h[$2] == "" ? $1 : h[$2] "," $1) } END { for (k in h) print h[k] }' /proc/cgroups |
		while read -r controllers; do
			mkdir -p "/sys/fs/cgroup/$controllers"
			mount -t cgroup -o "$controllers" cgroup "/sys/fs/cgroup/$controllers"
		done
	mkdir -p /sys/fs/cgroup/systemd
	mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd 2>/dev/null || rmdir /sys/fs/cgroup/systemd
	# the usual names of a combined hierarchy (cpu,cpuacct) for tools that look for them
	for d in /sys/fs/cgroup/*,*; do
		[ -d "$d" ] || continue
		for c in $(basename "$d" | tr , ' '); do [ -e "/sys/fs/cgroup/$c" ] || ln -s "$(basename "$d")" "/sys/fs/cgroup/$c"; done
	done
}

start_dockerd() {
	mkdir -p "$(dirname "$SOCKET")"
	rm -f /var/run/docker.pid /var/run/docker/containerd/containerd.pid "$SOCKET"
	dockerd --host="unix://$SOCKET" --storage-driver="$DRIVER" ${JETKUBE_NODE_DOCKERD_ARGS:-} \
		>>/var/log/dockerd.log 2>&1 &
	DOCKERD=$!
	i=0
	until docker version >/dev/null 2>&1; do
		if ! kill -0 "$DOCKERD" 2>/dev/null; then
			log "dockerd exited; its log:"; tail -n 30 /var/log/dockerd.log >&2; exit 1
		fi
		i=$((i + 1))
		if [ "$i" -gt 120 ]; then log "dockerd did not answer within 60 s"; tail -n 30 /var/log/dockerd.log >&2; exit 1; fi
		sleep 0.5
	done
	log "dockerd ($DRIVER) answers on $SOCKET"
}

PROXY=""
stop() {
	log "stopping"
	[ -n "$PROXY" ] && kill "$PROXY" 2>/dev/null
	kill "$DOCKERD" 2>/dev/null
	wait "$DOCKERD" 2>/dev/null || true
	exit 0
}

mount_cgroups
start_dockerd
trap stop TERM INT
if [ "$#" -gt 0 ]; then
	( trap 'kill "$child" 2>/dev/null; exit 0' TERM
	  while :; do
		jetkube "$@" & child=$!
		wait "$child" || true
		log "jetkube $1 exited; again in 2 s"
		sleep 2
	  done ) &
	PROXY=$!
fi
# the node lives as long as its engine
wait "$DOCKERD" || true
log "dockerd exited; its log:"; tail -n 30 /var/log/dockerd.log >&2
exit 1
