# Source this file (bash) from the repository root: puts the Pulumi engine from scripts/pulumi-engine.sh on
# PATH for this shell, and, unless you chose a backend yourself, keeps the stacks' state next to the checkout.
#   source scripts/pulumi-env.sh
#   pulumi config set dockercoins:workerReplicas 10 && pulumi up
_pulumi_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
_pulumi_engine_out=$("$_pulumi_repo/scripts/pulumi-engine.sh") || {
  unset _pulumi_engine_out _pulumi_repo
  return 1
}
_pulumi_engine_bin=${_pulumi_engine_out##*$'\n'}
case ":$PATH:" in
  *":$_pulumi_engine_bin:"*) ;;
  *) export PATH="$_pulumi_engine_bin:$PATH" ;;
esac
export PULUMI_SKIP_UPDATE_CHECK=true
# The engine from the cache has its plugins installed offline; downloading them cannot work there. A user's
# own CLI keeps acquiring plugins automatically.
case "$_pulumi_engine_bin" in
  "${DOCKERCOINS_CACHE:-$HOME/.cache/dockercoins}"/*) export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true ;;
esac
# State next to the checkout (.pulumi-state/, git-ignored) unless you chose a backend (pulumi login or
# PULUMI_BACKEND_URL). The playground's only secret is its throwaway SSH key: set your own passphrase for
# real stacks before the first `pulumi stack init`.
if [ -z "${PULUMI_BACKEND_URL:-}" ] && ! pulumi whoami >/dev/null 2>&1; then
  mkdir -p "$_pulumi_repo/.pulumi-state"
  export PULUMI_BACKEND_URL="file://$_pulumi_repo/.pulumi-state"
fi
# The public passphrase only when you chose none (a PULUMI_CONFIG_PASSPHRASE_FILE of yours is kept): the
# program refuses it for any stack holding secrets of yours (infra/passphrase.ts).
if [ -z "${PULUMI_CONFIG_PASSPHRASE+set}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  export PULUMI_CONFIG_PASSPHRASE="dockercoins-playground"
fi
unset _pulumi_engine_out _pulumi_engine_bin _pulumi_repo
