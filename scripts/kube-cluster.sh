#!/usr/bin/env bash
# A minikube-compatible one-node Kubernetes on this machine's Docker engine, for the tests and for anyone
# who wants Kubernetes without minikube (whose downloads cannot be reached on the project's machines).
#
#   scripts/kube-cluster.sh up          build (scripts/kube-build.sh, cached) and start it; prints how to use it
#   scripts/kube-cluster.sh docker-env  the engine's variables, as `minikube docker-env` prints them
#   scripts/kube-cluster.sh down        remove the node, its volumes and network
#
# The node is one container (infra/kube-node-image, no --privileged) at $KUBE_NODE_IP on its own bridge,
# with the API server on :8443 and its own Docker engine on :2376 (TLS). Client files go to
# ~/.dockercoins-kube/ (kubeconfig, ca.pem, cert.pem, key.pem); `up` also merges the context
# $KUBE_CLUSTER_NAME into ~/.kube/config, as minikube does. The infra/examples minikube stack then only
# needs: kubeContext dockercoins-kube, minikubeDockerHost tcp://<ip>:2376, minikubeDockerCertPath ~/.dockercoins-kube.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

NAME=${KUBE_CLUSTER_NAME:-dockercoins-kube}
SUBNET=${KUBE_SUBNET:-172.30.49.0/24}
NODE_IP=${KUBE_NODE_IP:-172.30.49.2}
CLIENT_DIR=${KUBE_CLIENT_DIR:-$HOME/.dockercoins-kube}
LABEL="org.dockercoins.kube=$NAME"
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl cri-dockerd coredns metrics-server)
log() { printf '[kube-cluster] %s\n' "$*" >&2; }

down() {
  docker rm -f -v "$NAME" >/dev/null 2>&1 || true
  docker volume rm "$NAME-docker" "$NAME-state" >/dev/null 2>&1 || true
  docker network rm "$NAME" >/dev/null 2>&1 || true
  # Its context leaves ~/.kube/config too, as with `minikube delete`.
  local kubectl
  kubectl=$(ls -d "${DOCKERCOINS_CACHE:-$HOME/.cache/dockercoins}"/kube/*/bin/kubectl 2>/dev/null | head -1 || true)
  if [ -n "$kubectl" ] && [ -f "$HOME/.kube/config" ]; then
    "$kubectl" config delete-context "$NAME" >/dev/null 2>&1 || true
    "$kubectl" config delete-cluster "$NAME" >/dev/null 2>&1 || true
    "$kubectl" config delete-user "$NAME-admin" >/dev/null 2>&1 || true
    if [ "$("$kubectl" config current-context 2>/dev/null)" = "$NAME" ]; then "$kubectl" config unset current-context >/dev/null; fi
  fi
  # Only the files `up` wrote (the directory may be one of yours).
  rm -f "$CLIENT_DIR"/{kubeconfig,ca.pem,cert.pem,key.pem}
  rmdir "$CLIENT_DIR" 2>/dev/null || true
  log "removed $NAME (container, volumes, network, its kubeconfig context and client files)"
}

docker_env() {
  printf 'export DOCKER_TLS_VERIFY="1"\nexport DOCKER_HOST="tcp://%s:2376"\nexport DOCKER_CERT_PATH="%s"\n' "$NODE_IP" "$CLIENT_DIR"
}

up() {
  local t0 bin ctx
  t0=$(date +%s)
  bin=$(scripts/kube-build.sh "${COMPONENTS[@]}" | tail -1)
  ctx=$(mktemp -d)
  trap 'rm -rf "$ctx"' RETURN
  cp -r infra/kube-node-image/. "$ctx/"
  # Shared with the playground's Swarm nodes: cgroups and /proc for an engine inside a container.
  cp infra/node-image/nested-engine.sh "$ctx/"
  mkdir -p "$ctx/bin"
  for c in "${COMPONENTS[@]}"; do cp "$bin/$c" "$ctx/bin/"; done
  # The image's tag names the binaries' versions, so a new build makes a new image.
  local tag
  tag="dockercoins/kube-node:$(basename "$(dirname "$bin")" | sha256sum | cut -c1-12)"
  # The host's DNS servers, for names outside the cluster (the node's own resolver is not reachable from pods).
  local dns
  dns=$({ awk '$1 == "nameserver" && $2 !~ /^127\./ { print $2 }' /etc/resolv.conf /run/systemd/resolve/resolv.conf 2>/dev/null || true; } | sort -u | xargs)
  log "building $tag"
  docker build -q -t "$tag" "$ctx" >/dev/null
  if docker container inspect "$NAME" >/dev/null 2>&1; then
    log "$NAME exists: remove it first with $0 down"
    exit 1
  fi
  docker network create --label "$LABEL" --subnet "$SUBNET" "$NAME" >/dev/null
  # All capabilities but SYS_RESOURCE, like the playground's nodes (hosts without it refuse the container).
  docker run -d --name "$NAME" --hostname "$NAME" --label "$LABEL" \
    --network "$NAME" --ip "$NODE_IP" -e "NODE_IP=$NODE_IP" -e "CLUSTER_NAME=$NAME" -e "UPSTREAM_DNS=$dns" \
    --cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    --cgroupns private --tmpfs /run --tmpfs /tmp \
    -v "$NAME-docker:/var/lib/docker" -v "$NAME-state:/var/lib/kube" -v /lib/modules:/lib/modules:ro \
    "$tag" >/dev/null
  log "waiting for the control plane, the node and the add-ons ..."
  local i
  for i in $(seq 1 300); do
    docker exec "$NAME" test -f /var/lib/kube/ready 2>/dev/null && break
    if [ "$(docker inspect -f '{{.State.Running}}' "$NAME")" != true ]; then
      docker logs --tail 30 "$NAME" >&2
      log "the node stopped"
      exit 1
    fi
    sleep 1
  done
  docker exec "$NAME" test -f /var/lib/kube/ready || { docker logs --tail 30 "$NAME" >&2; log "not ready after 300 s"; exit 1; }
  mkdir -p "$CLIENT_DIR"
  for f in kubeconfig ca.pem cert.pem key.pem; do docker exec "$NAME" cat "/var/lib/kube/client/$f" >"$CLIENT_DIR/$f"; done
  chmod 600 "$CLIENT_DIR"/*
  # Merge the context into ~/.kube/config, as minikube does (a backup of the old file stays beside it).
  mkdir -p "$HOME/.kube"
  if [ -f "$HOME/.kube/config" ]; then
    cp "$HOME/.kube/config" "$HOME/.kube/config.bak"
    KUBECONFIG="$CLIENT_DIR/kubeconfig:$HOME/.kube/config.bak" "$bin/kubectl" config view --flatten >"$HOME/.kube/config.new"
    mv "$HOME/.kube/config.new" "$HOME/.kube/config"
  else
    cp "$CLIENT_DIR/kubeconfig" "$HOME/.kube/config"
  fi
  chmod 600 "$HOME/.kube/config"
  log "up in $(( $(date +%s) - t0 ))s: context $NAME (kubectl --context $NAME get nodes), engine at tcp://$NODE_IP:2376"
  log "kubectl: $bin/kubectl; docker-env: $0 docker-env"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  docker-env) docker_env ;;
  *) echo "usage: $0 up|down|docker-env" >&2; exit 2 ;;
esac
