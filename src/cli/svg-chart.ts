import type { DistributionReport } from '../rings/distribution';

const WIDTH = 960;
const MARGIN_LEFT = 72;
const MARGIN_RIGHT = 24;
const PANEL_HEIGHT = 260;
const PLOT_WIDTH = WIDTH - MARGIN_LEFT - MARGIN_RIGHT;
/** Up to this many backends, each bar gets its id as a label. */
const MAX_LABELLED = 32;

const COLORS = { share: '#4e79a7', moved: '#f28e2b', ideal: '#e15759', axis: '#555', grid: '#ddd' };

/** Escapes text for XML content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

/** A "nice" axis step (1, 2 or 5 × 10^k) giving about 5 ticks up to `max`. */
function niceStep(max: number): number {
  const raw = max / 5;
  const power = 10 ** Math.floor(Math.log10(raw));
  const m = raw / power;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * power;
}

interface Panel {
  readonly title: string;
  readonly barClass: string;
  readonly color: string;
  /** One value per backend (a fraction), or null for no bar. */
  readonly values: readonly (number | null)[];
  /** Each backend's ideal (a fraction). */
  readonly ideal: readonly number[];
  readonly idealLabel: string;
  readonly tooltip: (i: number) => string;
}

/** One bar panel with its axes, ideal marks and labels, its top-left at (0, top). */
function panelSvg(panel: Panel, ids: readonly string[], top: number): string {
  const n = ids.length;
  const out: string[] = [];
  const plotTop = top + 46;
  const plotHeight = PANEL_HEIGHT - 46 - (n <= MAX_LABELLED ? 90 : 36);
  const bottom = plotTop + plotHeight;
  let max = 0;
  for (let i = 0; i < n; i++) max = Math.max(max, panel.values[i] ?? 0, panel.ideal[i]!);
  const step = niceStep(max > 0 ? max * 1.08 : 0.01);
  const yMax = Math.ceil((max > 0 ? max * 1.08 : 0.01) / step) * step;
  const y = (v: number) => bottom - (v / yMax) * plotHeight;
  const slot = PLOT_WIDTH / n;
  const barWidth = Math.max(slot * 0.8, Math.min(slot, 1));
  const x = (i: number) => MARGIN_LEFT + i * slot + (slot - barWidth) / 2;

  out.push(`<text class="panel-title" x="${MARGIN_LEFT}" y="${top + 18}">${escapeXml(panel.title)}</text>`);
  // Grid and y axis labels.
  for (let v = 0; v <= yMax + step / 2; v += step) {
    const yy = y(v).toFixed(1);
    out.push(
      `<line x1="${MARGIN_LEFT}" x2="${WIDTH - MARGIN_RIGHT}" y1="${yy}" y2="${yy}" stroke="${COLORS.grid}"/>`,
      `<text class="tick" x="${MARGIN_LEFT - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${(v * 100).toFixed(step < 0.001 ? 2 : step < 0.01 ? 1 : 0)}%</text>`,
    );
  }
  // Bars, each with a tooltip.
  for (let i = 0; i < n; i++) {
    const v = panel.values[i];
    if (v === null || v === undefined) continue;
    const h = Math.max(0, bottom - y(v));
    out.push(
      `<rect class="${panel.barClass}" x="${x(i).toFixed(2)}" y="${(bottom - h).toFixed(2)}" width="${barWidth.toFixed(2)}" height="${h.toFixed(2)}" fill="${panel.color}"><title>${escapeXml(panel.tooltip(i))}</title></rect>`,
    );
  }
  // Ideal: one dashed line when every backend has the same ideal, else a mark over each bar.
  const uniform = panel.ideal.every((v) => Math.abs(v - panel.ideal[0]!) < 1e-12);
  if (uniform) {
    const yy = y(panel.ideal[0]!).toFixed(1);
    out.push(
      `<line class="ideal" x1="${MARGIN_LEFT}" x2="${WIDTH - MARGIN_RIGHT}" y1="${yy}" y2="${yy}" stroke="${COLORS.ideal}" stroke-width="2" stroke-dasharray="6 4"/>`,
    );
  } else {
    for (let i = 0; i < n; i++) {
      const yy = y(panel.ideal[i]!).toFixed(1);
      out.push(
        `<line class="ideal" x1="${(x(i) - 1).toFixed(2)}" x2="${(x(i) + barWidth + 1).toFixed(2)}" y1="${yy}" y2="${yy}" stroke="${COLORS.ideal}" stroke-width="2"/>`,
      );
    }
  }
  // Axes.
  out.push(
    `<line x1="${MARGIN_LEFT}" x2="${MARGIN_LEFT}" y1="${plotTop}" y2="${bottom}" stroke="${COLORS.axis}"/>`,
    `<line x1="${MARGIN_LEFT}" x2="${WIDTH - MARGIN_RIGHT}" y1="${bottom}" y2="${bottom}" stroke="${COLORS.axis}"/>`,
  );
  // Legend, under the panel title.
  const lx = MARGIN_LEFT;
  const ly = top + 26;
  out.push(
    `<rect x="${lx}" y="${ly}" width="12" height="12" fill="${panel.color}"/>`,
    `<text class="legend" x="${lx + 18}" y="${ly + 10}">measured</text>`,
    `<line x1="${lx + 90}" x2="${lx + 114}" y1="${ly + 6}" y2="${ly + 6}" stroke="${COLORS.ideal}" stroke-width="2" stroke-dasharray="${uniform ? '6 4' : '0'}"/>`,
    `<text class="legend" x="${lx + 120}" y="${ly + 10}">${escapeXml(panel.idealLabel)}</text>`,
  );
  // X labels: ids when few, else backend numbers.
  if (n <= MAX_LABELLED) {
    for (let i = 0; i < n; i++) {
      const cx = (x(i) + barWidth / 2).toFixed(1);
      const label = ids[i]!.length > 22 ? `${ids[i]!.slice(0, 21)}…` : ids[i]!;
      out.push(
        `<text class="label" transform="translate(${cx},${bottom + 8}) rotate(-40)" text-anchor="end">${escapeXml(label)}</text>`,
      );
    }
  } else {
    const every = niceStep(n);
    for (let i = 0; i < n; i += every) {
      out.push(
        `<text class="tick" x="${(x(i) + barWidth / 2).toFixed(1)}" y="${bottom + 16}" text-anchor="middle">${i + 1}</text>`,
      );
    }
    out.push(
      `<text class="tick" x="${MARGIN_LEFT + PLOT_WIDTH / 2}" y="${bottom + 32}" text-anchor="middle">backend number, in the given order (hover a bar for its address)</text>`,
    );
  }
  return out.join('\n');
}

/**
 * An SVG chart of a distribution report: each backend's share of the requests against its ideal,
 * and the requests that move when each backend leaves against the ideal (its share).
 */
export function renderDistributionSvg(report: DistributionReport, subtitle: string): string {
  const ids = report.members.map((m) => m.id);
  const ideal = report.members.map((m) => m.idealShare);
  const n = ids.length;
  const shareIdeal = ideal.every((v) => v === ideal[0]) ? `ideal 1/${n} = ${pct(ideal[0]!)}` : 'ideal w/W';
  const sharePanel = panelSvg(
    {
      title: `Share of requests per backend (max/mean ${report.maxOverMean.toFixed(2)}, CV ${report.cv.toFixed(3)})`,
      barClass: 'share-bar',
      color: COLORS.share,
      values: report.members.map((m) => m.share),
      ideal,
      idealLabel: shareIdeal,
      tooltip: (i) => {
        const m = report.members[i]!;
        return `${m.id}: ${pct(m.share)} of requests (${m.requests}), ideal ${pct(m.idealShare)}, ring owned ${pct(m.ownedShare)}`;
      },
    },
    ids,
    62,
  );
  const { leave, join } = report;
  const movedPanel = panelSvg(
    {
      title:
        leave.measured > 0
          ? `Requests moved when each backend leaves (on average ${leave.ratio.toFixed(2)}× the ideal)`
          : 'Requests moved when each backend leaves (not measured)',
      barClass: 'moved-bar',
      color: COLORS.moved,
      values: report.members.map((m) => m.movedOnLeave),
      ideal,
      idealLabel: "ideal: the leaving backend's ideal share (w/W)",
      tooltip: (i) => {
        const m = report.members[i]!;
        return `${m.id} leaves: ${pct(m.movedOnLeave ?? 0)} of requests move, ideal ${pct(m.idealShare)}`;
      },
    },
    ids,
    62 + PANEL_HEIGHT + 16,
  );
  const height = 62 + 2 * PANEL_HEIGHT + 16 + 40;
  const ownership =
    report.algorithm === 'rendezvous'
      ? 'expected shares exactly w/W (rendezvous)'
      : `ring ownership max/mean ${report.ownedMaxOverMean.toFixed(2)} (exact, independent of the keys)`;
  const spread =
    leave.measured > 0
      ? `; a leaver's requests spread ${leave.worstSpread.toFixed(2)}× fair share at worst`
      : '';
  const footer =
    `${ownership}; one backend joining moves ${pct(join.moved)} of requests, ideal ${pct(join.ideal)} ` +
    `(${join.ratio.toFixed(2)}×)${spread}`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif">
<title>${escapeXml(`Key distribution: ${subtitle}`)}</title>
<style>
.title { font-size: 18px; font-weight: 600; fill: #222; }
.subtitle { font-size: 12px; fill: #555; }
.panel-title { font-size: 14px; font-weight: 600; fill: #222; }
.tick, .label, .legend { font-size: 11px; fill: #444; }
.footer { font-size: 12px; fill: #333; }
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text class="title" x="${MARGIN_LEFT}" y="26">${escapeXml(`Key distribution: ${report.algorithm}, ${n} backends`)}</text>
<text class="subtitle" x="${MARGIN_LEFT}" y="46">${escapeXml(subtitle)}</text>
${sharePanel}
${movedPanel}
<text class="footer" x="${MARGIN_LEFT}" y="${height - 14}">${escapeXml(footer)}</text>
</svg>
`;
}
