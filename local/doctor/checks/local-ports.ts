// Check local.ports: a running stack answers on each of its ports; without one, the ports `npm start` takes by
// default are free (a taken one would stop it). Opens TCP connections and listens on 127.0.0.1 briefly: nothing
// is sent.
import { createConnection, createServer } from 'node:net';
import { DEFAULT_DASHBOARD_PORT, DEFAULT_LOCAL_PORTS } from '../../stack/local-stack-settings';
import { type DoctorCheck, fail, ok, warn } from '../doctor-check';

/** The default ports of `npm start`, with the flag that moves each. */
const DEFAULT_PORTS = [
  { name: 'Product-Live emulator', port: DEFAULT_LOCAL_PORTS.emulator, flag: '--emulator-port' },
  { name: 'DynamoDB Local', port: DEFAULT_LOCAL_PORTS.dynamodb, flag: '--dynamodb-port' },
  { name: 'S3', port: DEFAULT_LOCAL_PORTS.s3, flag: '--s3-port' },
  { name: 'SQS', port: DEFAULT_LOCAL_PORTS.sqs, flag: '--sqs-port' },
  { name: 'dashboard', port: DEFAULT_DASHBOARD_PORT, flag: '--ui-port' },
] as const;

export interface PortProbes {
  /** True when something accepts a TCP connection on host:port. */
  answers(host: string, port: number): Promise<boolean>;
  /** True when this process could listen on 127.0.0.1:port. */
  isFree(port: number): Promise<boolean>;
}

const TCP_PROBES: PortProbes = {
  answers: (host, port) =>
    new Promise((resolve) => {
      const socket = createConnection({ host, port });
      const done = (answered: boolean) => {
        socket.destroy();
        resolve(answered);
      };
      socket.setTimeout(2_000, () => done(false));
      socket.once('connect', () => done(true));
      socket.once('error', () => done(false));
    }),
  isFree: (port) =>
    new Promise((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    }),
};

export function localPortsCheck(probes: PortProbes = TCP_PROBES): DoctorCheck {
  return {
    id: 'local.ports',
    targets: ['local'],
    async run(context) {
      if (context.target.kind !== 'local') throw new Error('local.ports checks the local stack only');
      const { stackFile } = context.target;
      if (stackFile.status === 'running') {
        const { endpoints } = stackFile.state;
        const services = [
          ['DynamoDB', endpoints.dynamodb],
          ['S3', endpoints.s3],
          ['SQS', endpoints.sqs],
          ['Product-Live', endpoints.productLive],
        ] as const;
        const local = services
          .map(([name, endpoint]) => ({ name, url: new URL(endpoint) }))
          .filter(({ url }) => ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname));
        const silent: string[] = [];
        for (const { name, url } of local) {
          const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
          if (!(await probes.answers(url.hostname.replace(/^\[|\]$/g, ''), port)))
            silent.push(`${name} (${url.host})`);
        }
        const listed = local.map(({ name, url }) => `${name} ${url.port}`).join(', ');
        if (silent.length > 0) {
          return fail(
            `the running stack (pid ${stackFile.state.pid}) does not answer on ${silent.join(', ')}`,
            'restart it: Ctrl-C in its terminal, then npm start (with the same flags)',
          );
        }
        return ok(`the running stack answers on ${listed}`);
      }
      const taken: Array<(typeof DEFAULT_PORTS)[number]> = [];
      for (const entry of DEFAULT_PORTS) if (!(await probes.isFree(entry.port))) taken.push(entry);
      if (taken.length > 0) {
        return warn(
          `in use by another program, so npm start would stop: ${taken.map((entry) => `${entry.port} (${entry.name})`).join(', ')}`,
          `stop what uses them, or move the stack: npm start -- ${taken.map((entry) => `${entry.flag} PORT`).join(' ')}`,
        );
      }
      return ok(
        `npm start's ports are free: ${DEFAULT_PORTS.map((entry) => `${entry.port} (${entry.name})`).join(', ')}`,
      );
    },
  };
}
