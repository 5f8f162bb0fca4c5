// A small line chart as SVG (no dependencies); app/bench/chart.ts writes it out as SVG and PNG.

export interface Series {
  name: string;
  color: string;
  points: { x: number; y: number }[];
  dashed?: boolean;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");

export function lineChartSvg(opts: { title: string; xLabel: string; yLabel: string; series: Series[]; notes?: string[] }): string {
  const W = 900, H = 540, L = 70, R = 220, T = 50, B = 60;
  const all = opts.series.flatMap((s) => s.points);
  const xMax = Math.max(...all.map((p) => p.x));
  const yMax = Math.ceil(Math.max(...all.map((p) => p.y)) / 5) * 5 || 5;
  const sx = (x: number) => L + (x / xMax) * (W - L - R);
  const sy = (y: number) => H - B - (y / yMax) * (H - T - B);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="DejaVu Sans, sans-serif" font-size="13">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${L}" y="28" font-size="17" font-weight="bold">${esc(opts.title)}</text>`,
  ];
  for (let y = 0; y <= yMax; y += 5) {
    out.push(`<line x1="${L}" x2="${W - R}" y1="${sy(y)}" y2="${sy(y)}" stroke="#ddd"/>`);
    out.push(`<text x="${L - 8}" y="${sy(y) + 4}" text-anchor="end">${y}</text>`);
  }
  for (const x of [...new Set(all.map((p) => p.x))].sort((a, b) => a - b)) {
    out.push(`<text x="${sx(x)}" y="${H - B + 20}" text-anchor="middle">${x}</text>`);
  }
  out.push(`<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#333"/>`);
  out.push(`<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#333"/>`);
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 15}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  out.push(`<text transform="translate(20 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`);
  opts.series.forEach((s, i) => {
    const d = s.points.map((p, j) => `${j ? "L" : "M"}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(" ");
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="${s.dashed ? 1.5 : 2.5}"${s.dashed ? ' stroke-dasharray="6 4"' : ""}/>`);
    if (!s.dashed) for (const p of s.points) out.push(`<circle cx="${sx(p.x)}" cy="${sy(p.y)}" r="4" fill="${s.color}"/>`);
    const ly = T + 10 + i * 22;
    out.push(`<line x1="${W - R + 15}" x2="${W - R + 40}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2.5"${s.dashed ? ' stroke-dasharray="6 4"' : ""}/>`);
    out.push(`<text x="${W - R + 46}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  (opts.notes ?? []).forEach((n, i) => out.push(`<text x="${W - R + 15}" y="${T + 10 + opts.series.length * 22 + 20 + i * 18}" font-size="12" fill="#444">${esc(n)}</text>`));
  out.push("</svg>");
  return out.join("\n");
}
