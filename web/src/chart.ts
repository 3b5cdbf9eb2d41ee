// Eval loss per round as an inline SVG line chart (no chart library: small and accessible).
import { esc } from "./util";

type Point = { round: number; loss: number | null };

export function lossChart(series: Point[]): string {
  const points = series.filter((p) => p.loss !== null) as { round: number; loss: number }[];
  if (points.length === 0) return `<p class="empty">No reported loss yet.</p>`;
  const width = 640;
  const height = 220;
  const pad = { left: 48, right: 12, top: 12, bottom: 32 };
  const rounds = points.map((p) => p.round);
  const losses = points.map((p) => p.loss);
  const r0 = Math.min(...rounds);
  const r1 = Math.max(...rounds);
  const lo = Math.min(...losses);
  const hi = Math.max(...losses);
  const span = hi - lo || 1;
  const x = (r: number) => pad.left + ((r - r0) / (r1 - r0 || 1)) * (width - pad.left - pad.right);
  const y = (l: number) => pad.top + (1 - (l - lo) / span) * (height - pad.top - pad.bottom);
  const path = points.map((p) => `${x(p.round).toFixed(1)},${y(p.loss).toFixed(1)}`).join(" ");
  const dots =
    points.length <= 60
      ? points.map((p) => `<circle cx="${x(p.round).toFixed(1)}" cy="${y(p.loss).toFixed(1)}" r="3"><title>round ${p.round}: ${p.loss.toFixed(4)}</title></circle>`).join("")
      : "";
  const first = points[0];
  const last = points[points.length - 1];
  const label = `Eval loss from ${first.loss.toFixed(3)} in round ${first.round} to ${last.loss.toFixed(3)} in round ${last.round}, over ${points.length} rounds.`;
  return `<figure class="chart">
    <svg viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(label)}" preserveAspectRatio="xMidYMid meet">
      <line class="axis" x1="${pad.left}" y1="${height - pad.bottom}" x2="${width - pad.right}" y2="${height - pad.bottom}" />
      <line class="axis" x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${height - pad.bottom}" />
      <text x="${pad.left - 6}" y="${pad.top + 10}" text-anchor="end">${hi.toFixed(2)}</text>
      <text x="${pad.left - 6}" y="${height - pad.bottom}" text-anchor="end">${lo.toFixed(2)}</text>
      <text x="${pad.left}" y="${height - 10}">round ${r0}</text>
      <text x="${width - pad.right}" y="${height - 10}" text-anchor="end">round ${r1}</text>
      <polyline points="${path}" />
      ${dots}
    </svg>
    <figcaption>${esc(label)} Mean loss of the accepted reports (all reports where none was accepted).</figcaption>
  </figure>`;
}
