// A dependency-free SVG bar chart (workers -> hashes/s, with the theory line), and the one SVG -> PNG
// step the benchmarks share (the Swarm benchmark draws its line chart in e2e/lib/chart.ts).
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";

export interface Bar {
  label: string;
  value: number;
  /** What the workshop's arithmetic predicts, drawn as a marker. */
  theory?: number;
}

export function barChartSvg(title: string, yLabel: string, bars: Bar[], width = 800, height = 420): string {
  const pad = { left: 70, right: 20, top: 50, bottom: 60 };
  const top = Math.max(1, ...bars.flatMap((b) => [b.value, b.theory ?? 0])) * 1.15;
  // Round tick steps (1, 2 or 5 times a power of ten) so the axis labels are exact.
  const magnitude = 10 ** Math.floor(Math.log10(top / 5));
  const tickStep = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => top / s <= 6)!;
  const max = Math.ceil(top / tickStep) * tickStep;
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const step = plotW / bars.length;
  const y = (v: number) => pad.top + plotH - (v / max) * plotH;
  const ticks = Array.from({ length: Math.round(max / tickStep) + 1 }, (_, i) => i * tickStep);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="28" text-anchor="middle" font-size="17" font-weight="bold">${title}</text>`,
    `<text transform="translate(18 ${pad.top + plotH / 2}) rotate(-90)" text-anchor="middle">${yLabel}</text>`,
    ...ticks.map((t) => `<line x1="${pad.left}" x2="${width - pad.right}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/><text x="${pad.left - 8}" y="${y(t) + 4}" text-anchor="end">${+t.toFixed(6)}</text>`),
    ...bars.flatMap((b, i) => {
      const x = pad.left + i * step + step * 0.2;
      const w = step * 0.6;
      return [
        `<rect x="${x}" y="${y(b.value)}" width="${w}" height="${pad.top + plotH - y(b.value)}" fill="#2a7"/>`,
        `<text x="${x + w / 2}" y="${y(Math.max(b.value, b.theory ?? 0)) - 8}" text-anchor="middle">${b.value.toFixed(1)}</text>`,
        `<text x="${x + w / 2}" y="${height - pad.bottom + 20}" text-anchor="middle">${b.label}</text>`,
        b.theory === undefined ? "" : `<line x1="${x - 4}" x2="${x + w + 4}" y1="${y(b.theory)}" y2="${y(b.theory)}" stroke="#c33" stroke-width="3" stroke-dasharray="6 3"/>`,
      ];
    }),
    `<text x="${width - pad.right}" y="${height - 12}" text-anchor="end" fill="#c33">dashed: theory</text>`,
    `</svg>`,
  ];
  return parts.join("\n");
}

/** Writes `<base>.svg` and `<base>.png` (Debian's rsvg-convert, package librsvg2-bin); returns the PNG's path. */
export function writeChart(base: string, svg: string): string {
  writeFileSync(`${base}.svg`, svg);
  execFileSync("rsvg-convert", ["-o", `${base}.png`, `${base}.svg`]);
  return `${base}.png`;
}
