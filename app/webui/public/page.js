// Polls json every second, keeps 250 points and charts the mining rate (h2-h1)/(t2-t1), as the original.
const POINTS = 250;
const times = [];
const rates = [];
let previous;

const chart = new uPlot(
  {
    width: Math.min(860, window.innerWidth - 40),
    height: 320,
    series: [{}, { label: "hashes/second", stroke: "#2a7", fill: "rgba(34,170,119,0.25)", width: 2 }],
    axes: [{}, { label: "hashes/second" }],
    scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
  },
  [times, rates],
  document.getElementById("chart"),
);

async function refresh() {
  const status = document.getElementById("status");
  try {
    const response = await fetch("json", { cache: "no-store" });
    const stats = await response.json();
    if (!response.ok) throw new Error(stats.error || `HTTP ${response.status}`);
    document.getElementById("coins").textContent = stats.coins;
    if (previous && stats.now > previous.now) {
      const rate = (stats.hashes - previous.hashes) / (stats.now - previous.now);
      times.push(stats.now);
      rates.push(rate);
      if (times.length > POINTS) (times.shift(), rates.shift());
      // Like the original, show the average over the last points: the counter moves in steps.
      const recent = rates.slice(-10);
      const average = recent.reduce((a, b) => a + b, 0) / recent.length;
      document.getElementById("rate").textContent = `~${average.toFixed(1)}`;
      chart.setData([times, rates]);
      chart.root.parentElement.dataset.points = times.length; // lets tests and people see how much is drawn
    }
    previous = stats;
    status.textContent = "";
  } catch (err) {
    status.textContent = `Cannot read the mining stats: ${err.message}`;
  }
}

refresh();
setInterval(refresh, 1000);
