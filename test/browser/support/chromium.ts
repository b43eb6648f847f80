// Test support: Debian's Chromium, driven by playwright-core (no browser download: the machine may not reach
// one). Finds chromium-headless-shell or chromium; when neither is installed and this process runs as root,
// installs chromium-headless-shell with apt-get (CI runs as root on Debian); otherwise fails with what to do.
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Where Debian's packages put the browsers (chromium-headless-shell first: smaller, made for this). */
const CANDIDATES = [
  '/usr/bin/chromium-headless-shell',
  '/usr/lib/chromium/chromium-headless-shell',
  '/usr/bin/chromium',
  '/usr/lib/chromium/chromium',
];

/** The flags of every launch: headless, no sandbox (root in CI), nothing that reaches the network. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The path of an installed Chromium (CHROMIUM_PATH first), installing the Debian package when root. */
function findChromium(env: NodeJS.ProcessEnv = process.env): string {
  const given = env.CHROMIUM_PATH?.trim();
  if (given) {
    if (!executable(given)) throw new Error(`CHROMIUM_PATH=${given} is not an executable file`);
    return given;
  }
  const found = CANDIDATES.find(executable);
  if (found) return found;
  if (process.getuid?.() !== 0) {
    throw new Error(
      "the browser tests need Debian's Chromium: run `sudo apt-get update && sudo apt-get install -y chromium-headless-shell` (or set CHROMIUM_PATH to a Chromium executable)",
    );
  }
  const apt = (args: string[]) =>
    execFileSync('apt-get', args, { stdio: 'ignore', env: { ...env, DEBIAN_FRONTEND: 'noninteractive' } });
  apt(['update']);
  apt(['install', '-y', '--no-install-recommends', 'chromium-headless-shell']);
  const installed = CANDIDATES.find(executable);
  if (!installed)
    throw new Error('apt-get installed chromium-headless-shell, but no Chromium executable was found');
  return installed;
}

/** A headless Chromium with the project's flags. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: findChromium(), headless: true, args: CHROMIUM_ARGS });
}
