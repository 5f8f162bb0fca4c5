// Polls json every second and charts the mining rate over a short window: workers report their count once
// a second, so one-second differences jump between 0 and twice the rate (a sawtooth); the rate between
// readings a few seconds apart is the speed. Keeps 250 points; marks the speed stale when reads fail.
const POINTS = 250;
const CHART_WINDOW_S = 5; // the chart: recent enough to show a change within seconds
const TEXT_WINDOW_S = 10; // the figure: steadier, like the original's average of its last points
const samples = []; // { now, hashes } as read, newest last
const times = [];
const rates = [];
let lastRead; // when the shown figures were read (epoch s)

const chart = new uPlot(
  {
    width: Math.min(860, window.innerWidth - 40),
    height: 320,
    series: [{}, { label: `hashes/second (${CHART_WINDOW_S} s window)`, stroke: "#2a7", fill: "rgba(34,170,119,0.25)", width: 2 }],
    axes: [{}, { label: "hashes/second" }],
    scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
  },
  [times, rates],
  document.getElementById("chart"),
);

/** hashes/s between the newest reading and the newest one at least `seconds` older (or the oldest kept). */
function rateOver(seconds) {
  const last = samples[samples.length - 1];
  let base = samples[0];
  for (const s of samples) if (last.now - s.now >= seconds) base = s;
  return last.now > base.now ? (last.hashes - base.hashes) / (last.now - base.now) : undefined;
}

function showStale(reason) {
  const rate = document.getElementById("rate");
  rate.dataset.stale = "true";
  const since = lastRead ? ` The speed shown is from ${new Date(lastRead * 1000).toLocaleTimeString()}, ${Math.round(Date.now() / 1000 - lastRead)} s ago.` : "";
  document.getElementById("status").textContent = `Cannot read the mining stats: ${reason}.${since}`;
}

async function refresh() {
  try {
    const response = await fetch("json", { cache: "no-store" });
    const stats = await response.json();
    if (!response.ok) throw new Error(stats.error || `HTTP ${response.status}`);
    document.getElementById("coins").textContent = stats.coins;
    const previous = samples[samples.length - 1];
    if (previous && stats.hashes < previous.hashes) samples.length = 0; // the counter was reset: start over
    if (!previous || stats.now > previous.now) samples.push({ now: stats.now, hashes: stats.hashes });
    while (samples.length && stats.now - samples[0].now > TEXT_WINDOW_S + 2) samples.shift();
    const chartRate = rateOver(CHART_WINDOW_S);
    if (chartRate !== undefined) {
      times.push(stats.now);
      rates.push(chartRate);
      if (times.length > POINTS) (times.shift(), rates.shift());
      chart.setData([times, rates]);
      chart.root.parentElement.dataset.points = times.length; // lets tests and people see how much is drawn
      document.getElementById("rate").textContent = `~${rateOver(TEXT_WINDOW_S).toFixed(1)}`;
    }
    lastRead = stats.now;
    delete document.getElementById("rate").dataset.stale;
    document.getElementById("status").textContent = "";
  } catch (err) {
    showStale(err.message.replace(/\.$/, ""));
  }
}

refresh();
setInterval(refresh, 1000);

// Where the time goes: webui's /replicas, every 2 s (webui scrapes the replicas only while a page asks).
const cell = (text, cls) => {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
};
const fixed = (value, digits, unit = "") => (value === null || value === undefined ? "-" : `${value.toFixed(digits)}${unit}`);

function showReplicas(view) {
  const section = document.getElementById("replicas");
  section.hidden = view.services.length === 0;
  document.getElementById("window").textContent = view.windowS;
  const rows = [];
  for (const svc of view.services) {
    const head = document.createElement("tr");
    head.className = "service";
    head.dataset.service = svc.service;
    if (svc.saturated) head.dataset.saturated = "true";
    const td = cell("");
    td.colSpan = 7;
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = "bottleneck";
    const why = document.createElement("span");
    why.className = "why";
    why.textContent = `: ${svc.verdict}`;
    td.append(badge, svc.service, why);
    head.append(td);
    rows.push(head);
    for (const r of svc.replicas) {
      const tr = document.createElement("tr");
      tr.className = "replica";
      tr.dataset.service = svc.service;
      tr.append(
        cell(""),
        cell(r.host ? `${r.host} (${r.address})` : r.address),
        cell(r.error ? `unreachable: ${r.error}` : (r.node ?? "?")),
        cell(fixed(r.latencyMs, 0, " ms"), "latency"),
        cell(fixed(r.requestsPerS, 1)),
        // An unread replica's line is unknown, not absent.
        cell(r.error ? "?" : r.queue === null ? "no line" : String(r.queue), "queue"),
        cell(r.busy === null ? "-" : `${Math.round(r.busy * 100)} %`),
      );
      rows.push(tr);
    }
  }
  document.getElementById("replica-rows").replaceChildren(...rows);
}

async function refreshReplicas() {
  try {
    const response = await fetch("replicas", { cache: "no-store" });
    if (response.ok) showReplicas(await response.json());
  } catch {} // the mining stats above already say when webui cannot be reached
}
refreshReplicas();
setInterval(refreshReplicas, 2000);
