# Sourced by the node entrypoints (this image's, and the Kubernetes node's): what a container needs before
# it can run its own Docker engine (and kubelet) without --privileged.

setup_cgroup_v1() {
  # Without --privileged, Docker mounts every cgroup v1 hierarchy read-only; the inner engine needs
  # to create its own cgroups, so mount each hierarchy again, read-write, with the same controllers.
  local src mp fstype opts rest opt keep
  while read -r src mp fstype opts rest; do
    case "$mp" in /sys/fs/cgroup/*) ;; *) continue ;; esac
    case "$fstype" in
      cgroup)
        keep=()
        IFS=, read -ra parts <<<"$opts"
        for opt in "${parts[@]}"; do
          case "$opt" in
            rw|ro|nosuid|nodev|noexec|relatime|noatime|strictatime|nodiratime) ;;
            *) keep+=("$opt") ;;
          esac
        done
        local joined
        joined=$(IFS=,; echo "${keep[*]}")
        umount "$mp" && mount -t cgroup -o "rw,nosuid,nodev,noexec,$joined" cgroup "$mp" \
          || log "could not re-mount $mp ($joined) read-write"
        ;;
      cgroup2)
        umount "$mp" && mount -t cgroup2 -o rw,nosuid,nodev,noexec cgroup2 "$mp" \
          || log "could not re-mount $mp (cgroup2) read-write"
        ;;
    esac
  done < <(grep -E ' cgroup2? ' /proc/self/mounts)
}

setup_cgroup_v2() {
  # The usual dind dance: a cgroup v2 parent with processes cannot delegate controllers, so move
  # every process here into a child cgroup, then enable all controllers for the children.
  mount -o remount,rw /sys/fs/cgroup 2>/dev/null || true
  mkdir -p /sys/fs/cgroup/init
  local pid
  for pid in $(cat /sys/fs/cgroup/cgroup.procs); do
    echo "$pid" >/sys/fs/cgroup/init/cgroup.procs 2>/dev/null || true
  done
  sed -e 's/ / +/g' -e 's/^/+/' </sys/fs/cgroup/cgroup.controllers >/sys/fs/cgroup/cgroup.subtree_control \
    || log "could not enable cgroup v2 controllers"
}

unmask_proc() {
  # What `--security-opt systempaths=unconfined` does, done from inside (the program cannot declare that
  # option without a diff on every refresh): drop the read-only and masking mounts over /proc, so the inner
  # engine can write /proc/sys (forwarding, bridge and overlay settings).
  local mp
  for mp in $(awk '$2 ~ "^/proc/" { print $2 }' /proc/self/mounts | sort -r); do
    umount "$mp" 2>/dev/null || log "could not unmount $mp"
  done
}

prepare_nested_engine() {
  unmask_proc
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    setup_cgroup_v2
  else
    setup_cgroup_v1
  fi
}
