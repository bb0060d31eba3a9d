#!/usr/bin/env bash
# Checks scripts/kube-apiserver end to end: ready line, admin kubeconfig, TokenRequest +
# RBAC, the audit log, SIGTERM clean-up, a restart on the same state and port, the
# in-process controllers, and that nothing secret is printed. Needs kubectl and curl.
#   hack/kube-apiserver/smoke-test.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
run=$root/scripts/kube-apiserver
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait || true; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

"$run" --build-only >/dev/null

# start NAME ARGS...: starts a server on DIR=$work/NAME, waits for its ready line, sets $pid and $url.
start() {
  local name=$1; shift
  mkdir -p "$work/$name.tmp"
  local t0=$EPOCHREALTIME
  TMPDIR=$work/$name.tmp "$run" "$work/$name" "$@" >"$work/$name.out" 2>"$work/$name.err" &
  pid=$!; pids+=("$pid")
  for _ in $(seq 600); do
    grep -q '^ready ' "$work/$name.out" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || fail "$name exited before ready: $(cat "$work/$name.err")"
    sleep 0.05
  done
  [ "$(wc -l <"$work/$name.out")" = 1 ] || fail "$name: stdout is not exactly one line"
  url=$(awk '{print $2}' "$work/$name.out")
  [[ $url == https://127.0.0.1:* ]] || fail "$name: bad ready line"
  ok "$name ready at $url in $(echo "$EPOCHREALTIME - $t0" | bc)s"
}
stop() { # stop PID: SIGTERM, expect exit 0
  local t0=$EPOCHREALTIME rc=0
  kill -TERM "$1"; wait "$1" || rc=$?
  [ "$rc" = 0 ] || fail "exit status $rc after SIGTERM"
  ok "stopped with status 0 in $(echo "$EPOCHREALTIME - $t0" | bc)s"
}
k() { kubectl --kubeconfig="$KC" "$@"; }

# 1. a throwaway server with an audit log
start one --audit
KC=$work/one/kubeconfig
[ "$(stat -c %a "$KC")" = 600 ] || fail "kubeconfig mode is not 0600"
k get ns default -o name >/dev/null && ok "kubectl get ns as admin"
k create ns smoke >/dev/null
k -n smoke create sa reader >/dev/null
k -n smoke create role pod-getter --verb=get --resource=pods >/dev/null
k -n smoke create rolebinding reader --role=pod-getter --serviceaccount=smoke:reader >/dev/null
token=$(k -n smoke create token reader)
k config view --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d >"$work/ca.crt"
code() { curl -s -o /dev/null -w '%{http_code}' --cacert "$work/ca.crt" -H "Authorization: Bearer $token" "$url$1"; }
[ "$(code /api/v1/namespaces/smoke/pods/nope)" = 404 ] || fail "token: get pods is not allowed"
[ "$(code /api/v1/namespaces/smoke/secrets/nope)" = 403 ] || fail "token: get secrets is not forbidden"
[ "$(code /api/v1/namespaces/smoke/pods)" = 403 ] || fail "token: list pods is not forbidden"
ok "ServiceAccount token: get pods allowed (404), get secrets 403, list pods 403"
k -n smoke create configmap audited --from-literal=a=b >/dev/null
n=$(grep -c '"name":"audited"' "$work/one/audit.log" || true)
[ "$n" = 1 ] || fail "audit.log has $n lines for one configmap create"
! grep -q 'requestObject\|responseObject' "$work/one/audit.log" || fail "audit.log has bodies"
ok "audit.log: one line for the create, $(wc -l <"$work/one/audit.log") write lines in all, no bodies"
state=$(ls "$work/one.tmp")
[ -n "$state" ] || fail "no temporary state dir while running"
stop "$pid"
[ -z "$(ls "$work/one.tmp")" ] || fail "temporary state left behind: $(ls "$work/one.tmp")"
ok "temporary state dir $state removed"
for f in one.out one.err one/kube-apiserver.log one/audit.log; do
  ! grep -qE 'BEGIN|PRIVATE' "$work/$f" || fail "$f has key or certificate material"
  ! grep -qF "$token" "$work/$f" || fail "$f has the token"
done
ok "no BEGIN/PRIVATE/token in stdout, stderr, log or audit log"

# 2. a kept state dir and a fixed port, with controllers
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start two --state-dir "$work/state" --port "$port" --controllers
[ "$url" = "https://127.0.0.1:$port" ] || fail "--port ignored"
KC=$work/two/kubeconfig
cp "$KC" "$work/old-kubeconfig"
k create ns gc >/dev/null
k -n gc create configmap owner >/dev/null
uid=$(k -n gc get cm owner -o jsonpath='{.metadata.uid}')
k -n gc apply -f - >/dev/null <<EOF
apiVersion: v1
kind: ConfigMap
metadata: {name: child, ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: owner, uid: $uid}]}
EOF
k -n gc delete cm owner >/dev/null
for i in $(seq 100); do k -n gc get cm child >/dev/null 2>&1 || break; sleep 0.1; done
! k -n gc get cm child >/dev/null 2>&1 || fail "garbage collector did not delete the dependent"
ok "garbage collector deleted the dependent after ~$((i * 100))ms"
for i in $(seq 100); do k -n gc get sa default >/dev/null 2>&1 && break; sleep 0.1; done
k -n gc get sa default >/dev/null || fail "no default ServiceAccount"
ok "serviceaccount controller created gc/default"
k delete ns gc --wait=false >/dev/null
for i in $(seq 300); do k get ns gc >/dev/null 2>&1 || break; sleep 0.1; done
! k get ns gc >/dev/null 2>&1 || fail "namespace gc not deleted"
ok "namespace controller finished deleting gc after ~$((i * 100))ms"
k -n default create configmap survivor --from-literal=k=v >/dev/null
stop "$pid"

# 3. the same state and port again: data kept, the old kubeconfig still works
start three --state-dir "$work/state" --port "$port"
KC=$work/old-kubeconfig
[ "$(k -n default get cm survivor -o jsonpath='{.data.k}')" = v ] || fail "configmap lost across restart"
ok "restart on the same state and port: configmap kept, old kubeconfig works"
stop "$pid"
pids=()
for f in "$work"/*.out "$work"/*.err "$work"/*/kube-apiserver.log; do
  ! grep -qE 'BEGIN|PRIVATE' "$f" || fail "$f has key or certificate material"
  ! grep -qF "$token" "$f" || fail "$f has the token"
done
ok "no BEGIN/PRIVATE/token in any run's output or log"

echo "smoke test: all checks passed"
