/// <reference lib="dom" />
// The dashboard's client: renders the page of the URL, renders it again when the filters change (the URL
// changes, no reload) and after each sync (it polls the cheap /api/version and refetches when it changes).
import './dashboard.css';
import { getView } from './api';
import { watchChartWidths } from './charts';
import { startPages } from './router';

const POLL_MS = 3_000;

async function start(): Promise<void> {
  const main = document.getElementById('main');
  if (!main) return;
  const render = startPages(main);
  watchChartWidths();
  window.addEventListener('popstate', () => void render());
  let version = (await getView('version', {}).catch(() => undefined))?.version;
  await render();
  const refreshed = document.getElementById('refreshed');
  setInterval(async () => {
    const next = (await getView('version', {}).catch(() => undefined))?.version;
    if (next === undefined || next === version) return;
    version = next;
    await render();
    if (refreshed)
      refreshed.textContent = `Updated after a sync at ${new Date().toISOString().slice(11, 19)} UTC`;
  }, POLL_MS);
}

void start();
