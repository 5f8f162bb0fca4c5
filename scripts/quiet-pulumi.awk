# What scripts/up.sh shows of a `pulumi up` or `refresh` while the whole output goes to its log file: the
# plan in one line, a progress line every 10 finished steps (out of the plan's total when there was a
# preview), and Pulumi's closing summary (diagnostics, resources, duration) without its outputs block, which
# up.sh prints after as a table. A preview that fails (a refused config, a changed host key) shows its own
# summary instead, errors in full. mawk and gawk alike (srand() is the clock).
function now() { srand(); return srand() }
function say(s) { print "[up] " s; fflush() }
function show_plan() { if (plan != "") say("plan: " plan); plan = "" }
BEGIN { started = now() }
/^Previewing / { phase = "preview"; section = ""; say("previewing ..."); next }
/^(Updating|Refreshing|Destroying) \(/ { show_plan(); phase = "update"; section = ""; held = ""; say(tolower($1) " ..."); next }
/^(Diagnostics|Outputs|Resources|Duration):/ { section = $1 }
phase == "preview" && section == "Resources:" && /^ +[-+~]+ *[0-9]+ to (create|update|replace|delete)$/ {
  n = $0; sub(/^[^0-9]*/, "", n); total += n + 0; line = $0; sub(/^ +/, "", line); plan = plan (plan == "" ? "" : ", ") line
}
phase == "preview" && section == "Resources:" && /^ +[0-9]+ unchanged$/ && plan == "" { plan = "no changes" }
phase == "preview" && section == "Resources:" && / errored$/ { plan = "" }
# The preview's own summary is kept until it is known whether an update follows (which repeats it).
phase == "preview" && section != "" && section != "Outputs:" { held = held $0 "\n"; next }
phase == "update" && section == "" && / (created|updated|replaced|deleted) \(/ && !/ (created replacement|deleted original) / {
  done_steps++
  if (done_steps % 10 == 0) printf "[up]   %d%s steps done (%d s)\n", done_steps, total ? "/" total : "", now() - started
  fflush(); next
}
phase == "update" && section != "" && section != "Outputs:" { print; fflush() }
END { if (phase == "preview") { show_plan(); printf "%s", held } }
