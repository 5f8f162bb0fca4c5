#!/bin/bash
# Starts a one-node Kubernetes: the container's own Docker engine (also on TCP 2376 with TLS, as
# `minikube docker-env` gives it), a PKI made on first start, etcd, kube-apiserver (:8443),
# controller-manager, scheduler, cri-dockerd, kubelet and kube-proxy as processes, then the add-ons
# (CoreDNS, metrics-server, a default StorageClass with local volumes). What a client needs is written to
# /var/lib/kube/client/: kubeconfig (context $CLUSTER_NAME) and the engine's ca.pem, cert.pem, key.pem.
# Env: NODE_IP (the address clients use; default: this container's first address), CLUSTER_NAME (default
# dockercoins-kube), UPSTREAM_DNS (the DNS servers pods use for outside names; default: the non-loopback
# ones of /etc/resolv.conf). Logs: /var/log/kube/<component>.log.
set -euo pipefail

log() { echo "[kube-node] $*" >&2; }
# shellcheck source=infra/node-image/nested-engine.sh
source /usr/local/lib/nested-engine.sh
prepare_nested_engine

NODE_IP=${NODE_IP:-$(hostname -I | awk '{print $1}')}
CLUSTER_NAME=${CLUSTER_NAME:-dockercoins-kube}
NODE_NAME=$(hostname)
SERVICE_CIDR=10.96.0.0/12
POD_CIDR=10.244.0.0/16
K=/var/lib/kube
PKI=$K/pki
LOGS=/var/log/kube
mkdir -p "$PKI" "$LOGS" "$K/client" "$K/volumes"
# The claims' volumes writable by any user, as minikube's hostpath provisioner makes them (mode 0777): hostPath
# volumes ignore fsGroup, and charts such as prometheus' run as nobody.
for pv in 1 2 3 4 5; do mkdir -p "$K/volumes/pv$pv" && chmod 0777 "$K/volumes/pv$pv"; done

# The kubelet's OOM watcher reads /dev/kmsg, which a container without --privileged does not have: make
# the device and allow it in this container's (cgroup v1) device list; where that is refused, a pipe that
# never speaks (opened here too, so that the kubelet's open does not wait for a writer).
if [ ! -e /dev/kmsg ]; then
  if ! { mknod /dev/kmsg c 1 11 && echo 'c 1:11 r' >/sys/fs/cgroup/devices/devices.allow; } 2>/dev/null; then
    rm -f /dev/kmsg && mkfifo /dev/kmsg && exec 3<>/dev/kmsg
  fi
fi
# The kubelet names the machine by it; a container has none.
[ -s /etc/machine-id ] || tr -d - </proc/sys/kernel/random/uuid >/etc/machine-id

# --- PKI (first start only; the volume keeps it) -------------------------------------------------------
cert() { # name, subject, extensions (openssl x509v3 lines); signed by ca unless name is a CA
  local name=$1 subj=$2 ext=$3 ca=${4:-ca}
  [ -f "$PKI/$name.crt" ] && return 0
  openssl req -new -newkey rsa:2048 -nodes -keyout "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$ca.crt" -CAkey "$PKI/$ca.key" -CAcreateserial -days 3650 \
    -extfile <(printf '%s\n' "$ext") -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr"
}
ca() { # name, CN
  [ -f "$PKI/$1.crt" ] && return 0
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/$1.key" -subj "/CN=$2" -days 3650 -out "$PKI/$1.crt" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign,digitalSignature 2>/dev/null
}
server_sans="IP:$NODE_IP,IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:$NODE_NAME,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
ca ca "$CLUSTER_NAME-ca"
ca front-proxy-ca "$CLUSTER_NAME-front-proxy-ca"
cert apiserver "/CN=kube-apiserver" "subjectAltName=$server_sans
extendedKeyUsage=serverAuth"
# One admin identity (system:masters) for the user, the control plane's clients and the kubelet: a
# single-node test cluster, not a hardened one.
cert admin "/O=system:masters/CN=admin" "extendedKeyUsage=clientAuth"
cert kubelet "/CN=$NODE_NAME" "subjectAltName=IP:$NODE_IP,DNS:$NODE_NAME
extendedKeyUsage=serverAuth"
cert front-proxy-client "/CN=front-proxy-client" "extendedKeyUsage=clientAuth" front-proxy-ca
cert docker-server "/CN=$NODE_NAME" "subjectAltName=IP:$NODE_IP,IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth"
cert docker-client "/CN=client" "extendedKeyUsage=clientAuth"
[ -f "$PKI/sa.key" ] || { openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null && openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null; }

kubeconfig() { # file, server
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: $CLUSTER_NAME
  cluster: {server: "$2", certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")}
users:
- name: $CLUSTER_NAME-admin
  user: {client-certificate-data: $(base64 -w0 "$PKI/admin.crt"), client-key-data: $(base64 -w0 "$PKI/admin.key")}
contexts:
- name: $CLUSTER_NAME
  context: {cluster: $CLUSTER_NAME, user: $CLUSTER_NAME-admin}
current-context: $CLUSTER_NAME
EOF
}
kubeconfig "$K/admin.kubeconfig" "https://127.0.0.1:8443"
kubeconfig "$K/client/kubeconfig" "https://$NODE_IP:8443"
cp "$PKI/ca.crt" "$K/client/ca.pem"
cp "$PKI/docker-client.crt" "$K/client/cert.pem"
cp "$PKI/docker-client.key" "$K/client/key.pem"
export KUBECONFIG=$K/admin.kubeconfig

start() { # name, command...: in the background, logging to $LOGS/<name>.log, restarted if it exits
  local name=$1
  shift
  ( while true; do "$@" >>"$LOGS/$name.log" 2>&1 || true; echo "[kube-node] $name exited; restarting in 2 s" >>"$LOGS/$name.log"; sleep 2; done ) &
}
wait_for() { # what, command...
  local what=$1 i
  shift
  for i in $(seq 1 120); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  log "$what did not come up in 120 s"
  return 1
}

# --- the Docker engine (the kubelet's runtime, and `docker-env` for clients) ---------------------------
runtime=()
if ! (echo -1 >/proc/self/oom_score_adj) 2>/dev/null; then
  log "this host forbids lowering OOM scores (no CAP_SYS_RESOURCE): pods run with runc-oom-floor"
  runtime=(--add-runtime oom-floor=/usr/local/bin/runc-oom-floor --default-runtime oom-floor)
fi
start dockerd dockerd -H unix:///var/run/docker.sock -H tcp://0.0.0.0:2376 --tlsverify \
  --tlscacert "$PKI/ca.crt" --tlscert "$PKI/docker-server.crt" --tlskey "$PKI/docker-server.key" "${runtime[@]}"
wait_for dockerd docker info
# The pod sandbox ("pause") image, made here from Debian's catatonit: no registry can be reached.
if ! docker image inspect registry.k8s.io/pause:3.10 >/dev/null 2>&1; then
  d=$(mktemp -d)
  cp /usr/bin/catatonit "$d/"
  printf 'FROM scratch\nCOPY catatonit /pause\nENTRYPOINT ["/pause", "-P"]\n' >"$d/Dockerfile"
  docker build -q -t registry.k8s.io/pause:3.10 "$d" >/dev/null
  rm -rf "$d"
fi
for addon in coredns metrics-server; do
  if ! docker image inspect "dockercoins/$addon:local" >/dev/null 2>&1; then
    d=$(mktemp -d)
    cp "/usr/local/bin/$addon" "$d/"
    printf 'FROM scratch\nCOPY %s /%s\nENTRYPOINT ["/%s"]\n' "$addon" "$addon" "$addon" >"$d/Dockerfile"
    docker build -q -t "dockercoins/$addon:local" "$d" >/dev/null
    rm -rf "$d"
  fi
done

# --- control plane -------------------------------------------------------------------------------------
start etcd etcd --name "$NODE_NAME" --data-dir "$K/etcd" --listen-client-urls http://127.0.0.1:2379 \
  --advertise-client-urls http://127.0.0.1:2379 --listen-peer-urls http://127.0.0.1:2380 --log-level warn
start kube-apiserver kube-apiserver --advertise-address "$NODE_IP" --secure-port 8443 \
  --etcd-servers http://127.0.0.1:2379 --service-cluster-ip-range "$SERVICE_CIDR" --allow-privileged=true \
  --client-ca-file "$PKI/ca.crt" --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
  --kubelet-client-certificate "$PKI/admin.crt" --kubelet-client-key "$PKI/admin.key" \
  --kubelet-preferred-address-types InternalIP --authorization-mode Node,RBAC \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
  --requestheader-client-ca-file "$PKI/front-proxy-ca.crt" --requestheader-allowed-names front-proxy-client \
  --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
  --requestheader-extra-headers-prefix X-Remote-Extra- \
  --proxy-client-cert-file "$PKI/front-proxy-client.crt" --proxy-client-key-file "$PKI/front-proxy-client.key" \
  --enable-aggregator-routing=true
wait_for kube-apiserver kubectl get --raw /readyz
start kube-controller-manager kube-controller-manager --kubeconfig "$K/admin.kubeconfig" --bind-address 127.0.0.1 \
  --leader-elect=false --use-service-account-credentials=true --root-ca-file "$PKI/ca.crt" \
  --service-account-private-key-file "$PKI/sa.key" --cluster-signing-cert-file "$PKI/ca.crt" \
  --cluster-signing-key-file "$PKI/ca.key" --service-cluster-ip-range "$SERVICE_CIDR"
start kube-scheduler kube-scheduler --kubeconfig "$K/admin.kubeconfig" --bind-address 127.0.0.1 --leader-elect=false

# --- node: CNI bridge, cri-dockerd, kubelet, kube-proxy -------------------------------------------------
mkdir -p /etc/cni/net.d
cat >/etc/cni/net.d/10-dockercoins.conflist <<EOF
{"cniVersion": "1.0.0", "name": "pods", "plugins": [
  {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$POD_CIDR"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
EOF
start cri-dockerd cri-dockerd --container-runtime-endpoint unix:///run/cri-dockerd.sock --network-plugin cni \
  --cni-bin-dir /usr/lib/cni --cni-conf-dir /etc/cni/net.d --pod-infra-container-image registry.k8s.io/pause:3.10
# Pods resolve outside names through CoreDNS, which forwards to the resolv.conf the kubelet hands it: not the
# container's own (Docker's 127.0.0.11, unreachable from a pod), but the host's servers (UPSTREAM_DNS).
upstream=${UPSTREAM_DNS:-$(awk '$1 == "nameserver" && $2 !~ /^127\./ { print $2 }' /etc/resolv.conf)}
[ -n "$upstream" ] || log "no DNS server for pods (set UPSTREAM_DNS): names outside the cluster will not resolve"
printf 'nameserver %s\n' $upstream >"$K/resolv.conf"
cat >"$K/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication: {anonymous: {enabled: false}, webhook: {enabled: true}, x509: {clientCAFile: $PKI/ca.crt}}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix:///run/cri-dockerd.sock
clusterDNS: [10.96.0.10]
clusterDomain: cluster.local
resolvConf: $K/resolv.conf
failSwapOn: false
tlsCertFile: $PKI/kubelet.crt
tlsPrivateKeyFile: $PKI/kubelet.key
# A test machine's disk is often fuller than the defaults tolerate: never evict for it.
evictionHard: {memory.available: 100Mi, nodefs.available: "0%", imagefs.available: "0%", nodefs.inodesFree: "0%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
EOF
start kubelet kubelet --config "$K/kubelet.yaml" --kubeconfig "$K/admin.kubeconfig" --hostname-override "$NODE_NAME" \
  --node-ip "$NODE_IP"
# No conntrack sysctls: the host's are not this container's to change.
start kube-proxy kube-proxy --kubeconfig "$K/admin.kubeconfig" --hostname-override "$NODE_NAME" \
  --cluster-cidr "$POD_CIDR" --proxy-mode iptables --conntrack-max-per-core 0 \
  --conntrack-tcp-timeout-established 0 --conntrack-tcp-timeout-close-wait 0
wait_for "node $NODE_NAME" kubectl get node "$NODE_NAME"

# --- add-ons: local volumes for claims, CoreDNS, metrics-server ------------------------------------------
for f in /etc/kube/addons/*.yaml; do
  sed -e "s|@VOLUMES@|$K/volumes|g" "$f" | kubectl apply -f - >>"$LOGS/addons.log" 2>&1 \
    || log "applying $f failed: see $LOGS/addons.log"
done
# A volume its claim released (the claim deleted): emptied and offered again, as minikube's provisioner gives
# every claim a fresh directory. Without this, each deleted claim would use up one of the five for good.
reclaim_volumes() {
  while sleep 5; do
    kubectl get pv -o jsonpath='{range .items[?(@.status.phase=="Released")]}{.metadata.name}{"\n"}{end}' |
      while read -r pv; do
        dir="$K/volumes/${pv#local-}"
        find "$dir" -mindepth 1 -delete && chmod 0777 "$dir" &&
          kubectl patch pv "$pv" --type json -p '[{"op":"remove","path":"/spec/claimRef"}]' &&
          echo "[kube-node] $pv emptied and available again"
      done
  done
}
start reclaim-volumes reclaim_volumes
touch "$K/ready"
log "cluster $CLUSTER_NAME up on $NODE_IP: kubeconfig and engine certificates in $K/client/"
wait
