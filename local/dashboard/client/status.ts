/// <reference lib="dom" />
// The status palette: Okabe–Ito colours, distinguishable with the common colour-vision deficiencies; a status
// is always written next to its colour too, so colour is never the only cue. A job's health state (healthy, late,
// failing, slow, unknown) takes a colour of the same palette.
import { h } from './dom';

export const STATUSES = ['PENDING', 'RUNNING', 'COMPLETED', 'USER_ERROR', 'FAILED', 'TERMINATED', 'TIMEDOUT'];

const COLOURS: Readonly<Record<string, string>> = {
  PENDING: '#999999',
  RUNNING: '#56B4E9',
  COMPLETED: '#009E73',
  USER_ERROR: '#E69F00',
  FAILED: '#D55E00',
  TERMINATED: '#CC79A7',
  TIMEDOUT: '#0072B2',
};

export function statusColour(status: string): string {
  return COLOURS[status] ?? '#000000';
}

/** A status as a badge: its colour as a swatch, and its name. */
export function statusBadge(status: string): HTMLElement {
  return h(
    'span',
    { class: 'status', 'data-status': status },
    h('span', { class: 'swatch', 'aria-hidden': 'true' }),
    status,
  );
}

/**
 * A job's health state as a badge: its colour as a swatch (dashboard.css: healthy green, late orange, failing
 * vermillion, slow blue, unknown grey), and its name (docs/health.md "The states").
 */
export function healthBadge(state: string): HTMLElement {
  return h(
    'span',
    { class: 'status', 'data-health': state },
    h('span', { class: 'swatch', 'aria-hidden': 'true' }),
    state,
  );
}
