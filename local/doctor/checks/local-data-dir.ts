// Check local.data-dir: the data directory holds a store that opens as `npm run history` opens it (the running
// stack's servers, else DynamoDB Local started on it for this command), with room left on its disk. Reads the
// directory and DescribeTable through the store.
import { statfs } from 'node:fs/promises';
import { StoreError } from '../../store/store-error';
import { type DoctorCheck, fail, ok, warn } from '../doctor-check';
import { oneLine } from '../wording';

/** Below this much free space, DynamoDB Local and s3rver are close to failing their writes. */
const LOW_DISK_BYTES = 1024 ** 3;

export interface DiskProbe {
  /** Bytes available to this user on the file system of `path` (undefined: unknown). */
  available(path: string): Promise<number | undefined>;
}

const STATFS_PROBE: DiskProbe = {
  available: async (path) => {
    try {
      const stats = await statfs(path);
      return stats.bavail * stats.bsize;
    } catch {
      return undefined;
    }
  },
};

export function localDataDirCheck(disk: DiskProbe = STATFS_PROBE): DoctorCheck {
  return {
    id: 'local.data-dir',
    targets: ['local'],
    async run(context) {
      if (context.target.kind !== 'local') throw new Error('local.data-dir checks the local stack only');
      const { dataDir } = context.target;
      const syncInto = `sync into it first: npm start -- --once --data-dir ${dataDir}`;
      let store: Awaited<ReturnType<typeof context.target.openStore>>;
      try {
        store = await context.target.openStore();
      } catch (error) {
        if (error instanceof StoreError)
          return fail(oneLine(error.message.split(':')[0] ?? error.message), syncInto);
        const message = error instanceof Error ? error.message : String(error);
        return fail(
          `the store in ${dataDir} could not be opened: ${oneLine(message)}`,
          'see local.java and local.ports; run npm start once in a terminal to see the whole error',
        );
      }
      const where = store.stack ? "the running stack's servers" : 'DynamoDB Local started for this check';
      const available = await disk.available(dataDir);
      if (available !== undefined && available < LOW_DISK_BYTES) {
        return warn(
          `${dataDir} holds a store, but its disk has ${(available / 1024 ** 2).toFixed(0)} MB free: DynamoDB Local stops when it is full`,
          'free some space on that disk, or move the store (npm start -- --data-dir DIR on another disk)',
        );
      }
      return ok(`${dataDir} holds a store (read through ${where})`);
    },
  };
}
