// Test support: a Product-Live emulator on a free port, with a manual clock and no rate limit unless the test
// asks for them. Started inside a test, it stops when that test ends; started outside one (beforeAll), its
// owner stops it (a harness's close()).
import { onTestFinished } from 'vitest';
import {
  type Clock,
  createEmulator,
  type Emulator,
  type EmulatorOptions,
  ManualClock,
} from '#local/emulator/index';

/** The instant every test clock starts at, unless a test gives its own. */
const TEST_EPOCH = '2024-06-01T12:00:00.000Z';

/** Emulator options of a test: the clock, when given, is a manual one. */
export type TestEmulatorOptions = Omit<EmulatorOptions, 'clock'> & { clock?: ManualClock };

export async function startEmulator(
  options?: TestEmulatorOptions,
): Promise<{ emulator: Emulator; clock: ManualClock }>;
export async function startEmulator(
  options: Omit<EmulatorOptions, 'clock'> & { clock: Clock },
): Promise<{ emulator: Emulator; clock: Clock }>;
export async function startEmulator(
  options: EmulatorOptions = {},
): Promise<{ emulator: Emulator; clock: Clock }> {
  const clock = options.clock ?? new ManualClock(TEST_EPOCH);
  const emulator = createEmulator({ rateLimit: false, ...options, clock });
  await emulator.start();
  try {
    onTestFinished(() => emulator.stop());
  } catch {
    // Not inside a test: the caller stops it.
  }
  return { emulator, clock };
}
