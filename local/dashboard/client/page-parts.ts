/// <reference lib="dom" />
// The parts every page is built of: titled sections, lists of facts, a slot filled when its view arrives, an
// error in words, and the line saying which period is shown and where its figures were read.
import type { OverviewView } from '../dashboard-data';
import { append, h, replace } from './dom';
import { formatInstant } from './format';

/** A section with its heading, labelled by it. */
export function section(title: string, id: string, ...children: Parameters<typeof append>[1][]): HTMLElement {
  const heading = h('h2', { id: `${id}-title` }, title);
  const element = h('section', { id, 'aria-labelledby': `${id}-title` }, heading);
  append(element, ...children);
  return element;
}

/** Terms and their values. */
export function facts(entries: ReadonlyArray<[string, string | Node]>): HTMLElement {
  return h(
    'dl',
    { class: 'facts' },
    ...entries.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]),
  );
}

/** An error, announced. */
export function failure(error: unknown): HTMLElement {
  return h('p', { class: 'error', role: 'alert' }, error instanceof Error ? error.message : String(error));
}

/** Fills `slot` with what `load` renders, or with the error. */
export async function fill(slot: HTMLElement, load: () => Promise<Node>): Promise<void> {
  try {
    replace(slot, await load());
  } catch (error) {
    replace(slot, failure(error));
  }
}

/** "From … to now · read from the lake …": the period of a view and where its figures come from. */
export function periodLine(view: Pick<OverviewView, 'period' | 'source'>): HTMLElement {
  const { period, source } = view;
  const shown =
    !period.since && !period.until
      ? 'All time'
      : `From ${formatInstant(period.since)}${period.until ? ` until ${formatInstant(period.until)} (exclusive)` : ' to now'}`;
  const read =
    source.kind === 'lake'
      ? ` · read from the lake${source.storeDays > 0 ? ` and the table for ${source.storeDays} recent day(s)` : ''}`
      : ' · read from the table';
  return h('p', { class: 'period' }, shown, read);
}
