# Source this file (bash): puts the Pulumi engine from scripts/pulumi-engine.sh on PATH for this shell.
#   source scripts/pulumi-env.sh
_pulumi_engine_out=$("$(dirname "${BASH_SOURCE[0]}")/pulumi-engine.sh") || {
  unset _pulumi_engine_out
  return 1
}
_pulumi_engine_bin=${_pulumi_engine_out##*$'\n'}
case ":$PATH:" in
  *":$_pulumi_engine_bin:"*) ;;
  *) export PATH="$_pulumi_engine_bin:$PATH" ;;
esac
export PULUMI_SKIP_UPDATE_CHECK=true
# A built engine carries its plugins, installed offline; downloading them cannot work there. A user's own
# CLI keeps acquiring plugins automatically (the npm install scripts that would install them are skipped).
if [ -x "$_pulumi_engine_bin/pulumi-resource-command" ]; then
  export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
fi
unset _pulumi_engine_out _pulumi_engine_bin
