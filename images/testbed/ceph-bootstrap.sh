#!/bin/bash
# A one-container Ceph cluster for the test bed's `ceph` profile (images/testbed/ceph.py):
# monitor a, manager x, osd.0 on a file-backed BlueStore, mds a, and a CephFS named `cephfs`.
#
# Environment: CEPH_FSID (the cluster's id), CEPH_ADMIN_KEY (client.admin's cephx key, which the
# bed's Secret `ceph-secret` carries), CEPH_PUBLIC_ADDR (the monitor's address; default: the
# container's), CEPH_OSD_SIZE (the BlueStore file, sparse; default 4G). A restarted container
# starts the daemons it made before.
set -euo pipefail

FSID=${CEPH_FSID:-b3a1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d}
IP=${CEPH_PUBLIC_ADDR:-$(hostname -i | awk '{print $1}')}
ADMIN_KEY=${CEPH_ADMIN_KEY:-}
OSD_SIZE=${CEPH_OSD_SIZE:-4G}
MON_DIR=/var/lib/ceph/mon/ceph-a
log() { echo "ceph-bootstrap: $*" >&2; }

write_conf() {
    mkdir -p /etc/ceph /var/run/ceph /var/log/ceph
    cat >/etc/ceph/ceph.conf <<CONF
[global]
fsid = $FSID
mon_initial_members = a
mon_host = [v2:$IP:3300,v1:$IP:6789]
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_allow_pool_delete = true
mon_warn_on_pool_no_redundancy = false
mon_data_avail_warn = 2
mon_data_avail_crit = 1
auth_allow_insecure_global_id_reclaim = false
log_to_file = false
log_to_stderr = true
err_to_stderr = true
[osd]
osd_objectstore = bluestore
bluestore_block_create = true
bluestore_block_size = $(numfmt --from=iec "$OSD_SIZE")
osd_memory_target = 939524096
bluestore_cache_autotune = false
bluestore_cache_size = 134217728
osd_max_object_name_len = 256
osd_max_object_namespace_len = 64
[mds]
mds_cache_memory_limit = 134217728
CONF
}

bootstrap() {
    write_conf
    local mon_keyring=/tmp/mon.keyring
    ceph-authtool --create-keyring "$mon_keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
    local key_args=(--gen-key)
    [ -n "$ADMIN_KEY" ] && key_args=(--add-key "$ADMIN_KEY")
    ceph-authtool --create-keyring /etc/ceph/ceph.client.admin.keyring "${key_args[@]}" -n client.admin \
        --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
    ceph-authtool "$mon_keyring" --import-keyring /etc/ceph/ceph.client.admin.keyring >/dev/null
    monmaptool --create --addv a "[v2:$IP:3300,v1:$IP:6789]" --fsid "$FSID" /tmp/monmap >/dev/null
    mkdir -p "$MON_DIR"
    ceph-mon --mkfs -i a --monmap /tmp/monmap --keyring "$mon_keyring"
    rm -f "$mon_keyring" /tmp/monmap
}

start_mon() { ceph-mon -i a --public-addr "$IP"; }

wait_mon() {
    for _ in $(seq 60); do ceph -s --connect-timeout 2 >/dev/null 2>&1 && return 0; sleep 1; done
    log "the monitor did not answer"; return 1
}

make_mgr() {
    mkdir -p /var/lib/ceph/mgr/ceph-x
    ceph auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' mds 'allow *' \
        -o /var/lib/ceph/mgr/ceph-x/keyring
}

make_osd() {
    local uuid id dir
    uuid=$(cat /proc/sys/kernel/random/uuid)
    id=$(ceph osd new "$uuid")
    dir=/var/lib/ceph/osd/ceph-$id
    mkdir -p "$dir"
    ceph auth get-or-create "osd.$id" osd 'allow *' mon 'allow profile osd' mgr 'allow profile osd' -o "$dir/keyring"
    ceph-osd -i "$id" --mkfs --osd-uuid "$uuid"
    echo "$id" >/var/lib/ceph/osd/id
}

make_mds() {
    mkdir -p /var/lib/ceph/mds/ceph-a
    ceph auth get-or-create mds.a mon 'allow profile mds' mgr 'allow profile mds' mds 'allow *' osd 'allow *' \
        -o /var/lib/ceph/mds/ceph-a/keyring
}

make_fs() {
    ceph osd pool create cephfs_metadata 8 >/dev/null
    ceph osd pool create cephfs_data 8 >/dev/null
    for p in cephfs_metadata cephfs_data; do
        ceph osd pool set "$p" size 1 --yes-i-really-mean-it >/dev/null
        ceph osd pool set "$p" pg_autoscale_mode off >/dev/null 2>&1 || true
    done
    ceph fs new cephfs cephfs_metadata cephfs_data >/dev/null
}

first=false
if [ ! -e "$MON_DIR/keyring" ]; then
    log "bootstrapping cluster $FSID, monitor at $IP"
    bootstrap
    first=true
else
    write_conf
fi
start_mon
wait_mon
if $first; then make_mgr; make_osd; make_mds; fi
ceph-mgr -i x
ceph-osd -i "$(cat /var/lib/ceph/osd/id)"
ceph-mds -i a
if $first; then make_fs; fi
for _ in $(seq 120); do
    ceph fs status cephfs 2>/dev/null | grep -q active && break
    sleep 1
done
ceph -s >&2 || true
log "ready"
touch /run/ceph-ready
# stay up while the daemons run; if one dies, exit so the engine shows (and restarts) it
while pgrep -x ceph-mon >/dev/null && pgrep -x ceph-osd >/dev/null && pgrep -x ceph-mds >/dev/null; do
    sleep 5
done
log "a daemon exited:"; pgrep -a ceph >&2 || true
exit 1
