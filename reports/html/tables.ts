import { esc } from '../format.js';

/**
 * A column: header text, whether it holds numbers (right-aligned, tabular figures, kept on one line),
 * optional tooltip. `wrap` lets a number cell break between its `.nw` parts (a long figure would
 * otherwise take the width its row's label needs).
 */
export interface Column {
  head: string;
  num?: boolean;
  wrap?: boolean;
  title?: string;
}

const classOf = (c: Column | undefined): string => (c?.num ? (c.wrap ? ' class="num wrap"' : ' class="num"') : '');

/**
 * An HTML table from already-formatted cells. Cells are escaped here; pass `{ html }` for a cell
 * that carries markup built by this module's callers (badges, links).
 */
export function table(columns: readonly Column[], rows: readonly (string | { html: string })[][], caption?: string): string {
  const head = columns.map((c) => `<th scope="col"${classOf(c)}${c.title ? ` title="${esc(c.title)}"` : ''}>${esc(c.head)}</th>`).join('');
  const body = rows
    .map(
      (r) =>
        `<tr>${r
          .map((cell, i) => {
            const cls = classOf(columns[i]);
            const content = typeof cell === 'string' ? esc(cell) : cell.html;
            return i === 0 ? `<th scope="row"${cls}>${content}</th>` : `<td${cls}>${content}</td>`;
          })
          .join('')}</tr>`,
    )
    .join('\n');
  return `<div class="table-wrap"><table>${caption ? `<caption>${esc(caption)}</caption>` : ''}<thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

/** A key/value definition table (environment, design). */
export function keyValues(pairs: readonly [string, string][]): string {
  return `<dl class="kv">${pairs.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>`;
}

/** A chart slot: a canvas with an accessible label and a caption saying how to read it. */
export function figure(id: string, title: string, caption: string): string {
  return `<figure class="chart"><figcaption><strong>${esc(title)}</strong> ${esc(caption)}</figcaption><div class="canvas-box"><canvas id="${esc(id)}" role="img" aria-label="${esc(title)}"></canvas></div></figure>`;
}
