import type { DistributionReport } from '../rings/distribution';

const WIDTH = 960;
const MARGIN_LEFT = 72;
const MARGIN_RIGHT = 24;
const PLOT_HEIGHT = 130;
const PLOT_WIDTH = WIDTH - MARGIN_LEFT - MARGIN_RIGHT;
const LINE = 14;
/** Up to this many backends, each gets its own labelled bar. */
const MAX_LABELLED = 40;
/** Ids up to this long are written under their bar; longer ones go to a numbered key, never cut. */
const MAX_AXIS_LABEL_CHARS = 28;
/** Above this many backends, consecutive backends share a bar (mean, with a min–max whisker). */
export const MAX_BARS = 200;
/** How many of the most (and least) loaded backends are named when not every bar has a label. */
const CALLOUTS = 5;
/** Largest SVG written; above it tooltips, then ids, are left out (and the chart says so). */
export const MAX_SVG_BYTES = 512 * 1024;

const COLORS = { share: '#4e79a7', moved: '#f28e2b', ideal: '#e15759', axis: '#555', grid: '#ddd' };

/** Escapes text for XML content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A percentage with 2 decimals, or 3 significant digits below 1 % (10,000 backends hold 0.01 % each). */
const pct = (x: number) => `${x >= 0.01 || x === 0 ? (x * 100).toFixed(2) : (x * 100).toPrecision(3)}%`;

/** A "nice" axis step (1, 2 or 5 × 10^k) giving about 5 ticks up to `max`. */
function niceStep(max: number): number {
  const raw = max / 5;
  const power = 10 ** Math.floor(Math.log10(raw));
  const m = raw / power;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * power;
}

/** One bar: one backend, or a run of consecutive backends (then `low`/`high` are their min and max). */
interface Bar {
  readonly value: number | null;
  readonly low: number | null;
  readonly high: number | null;
  readonly ideal: number;
  readonly tooltip: string;
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
  /** Lines naming the backends a reader looks for (most loaded, ...) when bars are not all labelled. */
  readonly callouts: readonly string[];
}

/** What the chart may spend bytes on; dropped in this order when the file would be too large. */
interface Detail {
  readonly tooltips: boolean;
  readonly ids: boolean;
}

/** Backend i's name in the chart: its id, or its number when ids are left out. */
function nameOf(ids: readonly string[], i: number, detail: Detail): string {
  return detail.ids ? ids[i]! : `backend ${i + 1}`;
}

/** The bars of a panel: one per backend, or at most MAX_BARS runs of consecutive backends. */
function barsOf(panel: Panel, ids: readonly string[], detail: Detail): { bars: Bar[]; perBar: number } {
  const n = ids.length;
  const perBar = Math.ceil(n / MAX_BARS);
  const bars: Bar[] = [];
  for (let start = 0; start < n; start += perBar) {
    const end = Math.min(n, start + perBar);
    let sum = 0;
    let idealSum = 0;
    let count = 0;
    let low = -1;
    let high = -1;
    for (let i = start; i < end; i++) {
      idealSum += panel.ideal[i]!;
      const v = panel.values[i];
      if (v === null || v === undefined) continue;
      sum += v;
      count++;
      if (low < 0 || v < panel.values[low]!) low = i;
      if (high < 0 || v > panel.values[high]!) high = i;
    }
    const ideal = idealSum / (end - start);
    if (perBar === 1) {
      bars.push({ value: count ? sum : null, low: null, high: null, ideal, tooltip: panel.tooltip(start) });
      continue;
    }
    bars.push({
      value: count ? sum / count : null,
      low: count ? panel.values[low]! : null,
      high: count ? panel.values[high]! : null,
      ideal,
      tooltip: count
        ? `backends ${start + 1}-${end}: mean ${pct(sum / count)}, min ${pct(panel.values[low]!)} (${nameOf(ids, low, detail)}), max ${pct(panel.values[high]!)} (${nameOf(ids, high, detail)}), ideal ${pct(ideal)}`
        : `backends ${start + 1}-${end}: not measured`,
    });
  }
  return { bars, perBar };
}

/** One bar panel with its axes, ideal marks, labels and callouts, its top-left at (0, top); returns its height. */
function panelSvg(panel: Panel, ids: readonly string[], top: number, detail: Detail, out: string[]): number {
  const n = ids.length;
  const { bars, perBar } = barsOf(panel, ids, detail);
  const plotTop = top + 46;
  const bottom = plotTop + PLOT_HEIGHT;
  let max = 0;
  for (const bar of bars) max = Math.max(max, bar.high ?? bar.value ?? 0, bar.ideal);
  const step = niceStep(max > 0 ? max * 1.08 : 0.01);
  const yMax = Math.ceil((max > 0 ? max * 1.08 : 0.01) / step) * step;
  const y = (v: number) => bottom - (v / yMax) * PLOT_HEIGHT;
  const slot = PLOT_WIDTH / bars.length;
  const barWidth = Math.max(slot * 0.8, Math.min(slot, 1));
  const x = (b: number) => MARGIN_LEFT + b * slot + (slot - barWidth) / 2;

  out.push(`<text class="panel-title" x="${MARGIN_LEFT}" y="${top + 18}">${escapeXml(panel.title)}</text>`);
  for (let v = 0; v <= yMax + step / 2; v += step) {
    const yy = y(v).toFixed(1);
    out.push(
      `<line x1="${MARGIN_LEFT}" x2="${WIDTH - MARGIN_RIGHT}" y1="${yy}" y2="${yy}" stroke="${COLORS.grid}"/>`,
      `<text class="tick" x="${MARGIN_LEFT - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${(v * 100).toFixed(step < 0.001 ? 2 : step < 0.01 ? 1 : 0)}%</text>`,
    );
  }
  bars.forEach((bar, b) => {
    if (bar.value === null) return;
    const h = Math.max(0, bottom - y(bar.value));
    const title = detail.tooltips ? `<title>${escapeXml(bar.tooltip)}</title>` : '';
    out.push(
      `<rect class="${panel.barClass}" x="${x(b).toFixed(2)}" y="${(bottom - h).toFixed(2)}" width="${barWidth.toFixed(2)}" height="${h.toFixed(2)}" fill="${panel.color}">${title}</rect>`,
    );
    if (bar.low !== null && bar.high !== null) {
      const cx = (x(b) + barWidth / 2).toFixed(2);
      out.push(
        `<line class="range" x1="${cx}" x2="${cx}" y1="${y(bar.low).toFixed(2)}" y2="${y(bar.high).toFixed(2)}" stroke="${COLORS.axis}"/>`,
      );
    }
  });
  const uniform = bars.every((bar) => Math.abs(bar.ideal - bars[0]!.ideal) < 1e-12);
  if (uniform) {
    const yy = y(bars[0]!.ideal).toFixed(1);
    out.push(
      `<line class="ideal" x1="${MARGIN_LEFT}" x2="${WIDTH - MARGIN_RIGHT}" y1="${yy}" y2="${yy}" stroke="${COLORS.ideal}" stroke-width="2" stroke-dasharray="6 4"/>`,
    );
  } else {
    bars.forEach((bar, b) => {
      const yy = y(bar.ideal).toFixed(1);
      out.push(
        `<line class="ideal" x1="${(x(b) - 1).toFixed(2)}" x2="${(x(b) + barWidth + 1).toFixed(2)}" y1="${yy}" y2="${yy}" stroke="${COLORS.ideal}" stroke-width="2"/>`,
      );
    });
  }
  out.push(
    `<line x1="${MARGIN_LEFT}" x2="${MARGIN_LEFT}" y1="${plotTop}" y2="${bottom}" stroke="${COLORS.axis}"/>`,
    `<line x1="${MARGIN_LEFT}" x2="${WIDTH - MARGIN_RIGHT}" y1="${bottom}" y2="${bottom}" stroke="${COLORS.axis}"/>`,
  );
  const lx = MARGIN_LEFT;
  const ly = top + 26;
  out.push(
    `<rect x="${lx}" y="${ly}" width="12" height="12" fill="${panel.color}"/>`,
    `<text class="legend" x="${lx + 18}" y="${ly + 10}">${perBar > 1 ? `mean of ${perBar} backends (line: min to max)` : 'measured'}</text>`,
    `<line x1="${lx + 260}" x2="${lx + 284}" y1="${ly + 6}" y2="${ly + 6}" stroke="${COLORS.ideal}" stroke-width="2" stroke-dasharray="${uniform ? '6 4' : '0'}"/>`,
    `<text class="legend" x="${lx + 290}" y="${ly + 10}">${escapeXml(panel.idealLabel)}</text>`,
  );

  let below = bottom + 8;
  const labelled = n <= MAX_LABELLED && detail.ids;
  const shortIds = labelled && ids.every((id) => id.length <= MAX_AXIS_LABEL_CHARS);
  if (shortIds) {
    // Every id, whole, under its bar.
    for (let i = 0; i < n; i++) {
      const cx = (x(i) + barWidth / 2).toFixed(1);
      out.push(
        `<text class="label" transform="translate(${cx},${below}) rotate(-40)" text-anchor="end">${escapeXml(ids[i]!)}</text>`,
      );
    }
    return below + 7 * MAX_AXIS_LABEL_CHARS * 0.64 + 8 - top;
  }
  // Numbers under the bars (every bar when few, else about 10 ticks).
  const every = n <= MAX_LABELLED ? 1 : niceStep(n);
  for (let i = 0; i < n; i += every) {
    const b = Math.floor(i / perBar);
    out.push(
      `<text class="tick" x="${(x(b) + barWidth / 2).toFixed(1)}" y="${below + 8}" text-anchor="middle">${i + 1}</text>`,
    );
  }
  below += 8 + LINE;
  if (labelled) {
    // Long ids: a numbered key, two columns, each id whole.
    const rows = Math.ceil(n / 2);
    for (let i = 0; i < n; i++) {
      const column = i < rows ? 0 : 1;
      const row = i < rows ? i : i - rows;
      out.push(
        `<text class="key" x="${MARGIN_LEFT + column * (PLOT_WIDTH / 2)}" y="${below + (row + 1) * LINE}">${i + 1}  ${escapeXml(ids[i]!)}</text>`,
      );
    }
    return below + (rows + 1) * LINE - top;
  }
  out.push(
    `<text class="tick" x="${MARGIN_LEFT + PLOT_WIDTH / 2}" y="${below + 4}" text-anchor="middle">backend number, in the given order${detail.tooltips ? ' (hover a bar for details)' : ''}</text>`,
  );
  below += LINE;
  panel.callouts.forEach((line, row) => {
    out.push(
      `<text class="key" x="${MARGIN_LEFT}" y="${below + (row + 1) * LINE}">${escapeXml(line)}</text>`,
    );
  });
  return below + (panel.callouts.length + 1) * LINE - top;
}

/** "most loaded: a 3.10%, b 3.02%, ..." over the backends with a value, `count` of them. */
function ranked(
  label: string,
  values: readonly (number | null)[],
  ids: readonly string[],
  detail: Detail,
  order: 1 | -1,
): string {
  const measured: number[] = [];
  values.forEach((v, i) => {
    if (v !== null) measured.push(i);
  });
  measured.sort((a, b) => order * (values[b]! - values[a]!) || a - b);
  const named = measured.slice(0, CALLOUTS).map((i) => `${nameOf(ids, i, detail)} ${pct(values[i]!)}`);
  return `${label}: ${named.join(', ')}`;
}

/**
 * An SVG chart of a distribution report: each backend's share of the requests against its ideal,
 * and the requests that move when each backend leaves against the ideal (its share). Readable and
 * bounded at any backend count: ids are written whole (under the bars, or in a numbered key), the
 * most and least loaded backends are named when there are too many to label, more than
 * {@link MAX_BARS} backends are aggregated, and the file stays under {@link MAX_SVG_BYTES}.
 */
export function renderDistributionSvg(report: DistributionReport, subtitle: string): string {
  for (const detail of [
    { tooltips: true, ids: true },
    { tooltips: false, ids: true },
    { tooltips: false, ids: false },
  ]) {
    const svg = renderWith(report, subtitle, detail);
    if (Buffer.byteLength(svg) <= MAX_SVG_BYTES || !detail.ids) return svg;
  }
  throw new Error('unreachable');
}

function renderWith(report: DistributionReport, subtitle: string, detail: Detail): string {
  const ids = report.members.map((m) => m.id);
  const ideal = report.members.map((m) => m.idealShare);
  const n = ids.length;
  const shares = report.members.map((m) => m.share);
  const moved = report.members.map((m) => m.movedOnLeave);
  const shareIdeal = ideal.every((v) => v === ideal[0]) ? `ideal 1/${n} = ${pct(ideal[0]!)}` : 'ideal w/W';
  const body: string[] = [];
  let top = 62;
  top +=
    panelSvg(
      {
        title: `Share of requests per backend (max/mean ${report.maxOverMean.toFixed(2)}, CV ${report.cv.toFixed(3)})`,
        barClass: 'share-bar',
        color: COLORS.share,
        values: shares,
        ideal,
        idealLabel: shareIdeal,
        tooltip: (i) => {
          const m = report.members[i]!;
          return `${nameOf(ids, i, detail)}: ${pct(m.share)} of requests (${m.requests}), ideal ${pct(m.idealShare)}, ring owned ${pct(m.ownedShare)}`;
        },
        callouts: [
          ranked('most loaded', shares, ids, detail, 1),
          ranked('least loaded', shares, ids, detail, -1),
        ],
      },
      ids,
      top,
      detail,
      body,
    ) + 16;
  const { leave, join } = report;
  top +=
    panelSvg(
      {
        title:
          leave.measured > 0
            ? `Requests moved when each backend leaves (on average ${leave.ratio.toFixed(2)}× the ideal)`
            : 'Requests moved when each backend leaves (not measured)',
        barClass: 'moved-bar',
        color: COLORS.moved,
        values: moved,
        ideal,
        idealLabel: "ideal: the leaving backend's ideal share (w/W)",
        tooltip: (i) => {
          const m = report.members[i]!;
          return `${nameOf(ids, i, detail)} leaves: ${pct(m.movedOnLeave ?? 0)} of requests move, ideal ${pct(m.idealShare)}`;
        },
        callouts: leave.measured > 0 ? [ranked('moves most when leaving', moved, ids, detail, 1)] : [],
      },
      ids,
      top,
      detail,
      body,
    ) + 8;
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
  const omitted = detail.ids
    ? detail.tooltips
      ? ''
      : 'tooltips left out to keep the file small'
    : 'ids and tooltips left out to keep the file small (they are in the text report)';
  const height = Math.ceil(top + (omitted ? 2 : 1) * LINE + 16);
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif">
<title>${escapeXml(`Key distribution: ${subtitle}`)}</title>
<style>
.title { font-size: 18px; font-weight: 600; fill: #222; }
.subtitle { font-size: 12px; fill: #555; }
.panel-title { font-size: 14px; font-weight: 600; fill: #222; }
.tick, .label, .legend, .key { font-size: 11px; fill: #444; }
.footer { font-size: 12px; fill: #333; }
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text class="title" x="${MARGIN_LEFT}" y="26">${escapeXml(`Key distribution: ${report.algorithm}, ${n} backends`)}</text>
<text class="subtitle" x="${MARGIN_LEFT}" y="46">${escapeXml(subtitle)}</text>
${body.join('\n')}
<text class="footer" x="${MARGIN_LEFT}" y="${top + LINE}">${escapeXml(footer)}</text>
${omitted ? `<text class="footer" x="${MARGIN_LEFT}" y="${top + 2 * LINE}">${escapeXml(omitted)}</text>\n` : ''}</svg>
`;
}
