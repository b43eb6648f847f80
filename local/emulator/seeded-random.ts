// Deterministic pseudo-randomness: the same seed gives the same demo data, ids and fault decisions on
// every machine. Not cryptographic; speed and reproducibility are what matter here.

/** A seeded random source. */
export interface SeededRandom {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** A key of `weights` chosen in proportion to its (non-negative) weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K;
  /** `length` lowercase hex characters. */
  hex(length: number): string;
  /** An RFC 4122 version-4-shaped UUID. */
  uuid(): string;
  /** A new independent source derived from this one and a label (e.g. one per job). */
  fork(label: string): SeededRandom;
}

/** Creates a seeded random source (sfc32 seeded through cyrb128 of the seed's string form). */
export function createSeededRandom(seed: number | string): SeededRandom {
  const [a, b, c, d] = cyrb128(String(seed));
  return createSfc32(a, b, c, d, String(seed));
}

/** A 32-bit FNV-1a hash of a string: stable across runs, used for the "shuffled" order. */
export function hashString(value: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    hash ^= value.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function createSfc32(a0: number, b0: number, c0: number, d0: number, seedLabel: string): SeededRandom {
  let a = a0 >>> 0;
  let b = b0 >>> 0;
  let c = c0 >>> 0;
  let d = d0 >>> 0;
  const nextUint32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  // Warm-up: the first outputs of sfc32 correlate with the seed words.
  for (let i = 0; i < 12; i++) nextUint32();

  const random: SeededRandom = {
    next: () => nextUint32() / 4294967296,
    int: (min, max) => {
      if (!Number.isInteger(min) || !Number.isInteger(max) || max < min) {
        throw new RangeError(`int(${min}, ${max}) needs integers with min <= max`);
      }
      return min + Math.floor(random.next() * (max - min + 1));
    },
    chance: (p) => random.next() < p,
    pick: (items) => {
      const item = items[Math.floor(random.next() * items.length)];
      if (item === undefined) throw new RangeError('pick() needs a non-empty array');
      return item;
    },
    weighted: <K extends string>(weights: Readonly<Record<K, number>>): K => {
      const table = weightTableOf(weights);
      let target = random.next() * table.total;
      for (let i = 0; i < table.keys.length; i++) {
        target -= table.weights[i] ?? 0;
        if (target < 0) return table.keys[i] as K;
      }
      return table.keys[table.keys.length - 1] as K;
    },
    hex: (length) => {
      // Whole 32-bit words, big-endian, cut to length: one flat string (fast as a Map key).
      const words = Math.ceil(length / 8);
      const bytes = Buffer.allocUnsafe(words * 4);
      for (let i = 0; i < words; i++) bytes.writeUInt32BE(nextUint32(), i * 4);
      return bytes.toString('hex', 0, Math.ceil(length / 2)).slice(0, length);
    },
    uuid: () => {
      const h = random.hex(32);
      const variant = ((Number.parseInt(h[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
    },
    fork: (label) => createSeededRandom(`${seedLabel}/${label}/${nextUint32()}`),
  };
  return random;
}

interface WeightTable {
  keys: string[];
  weights: number[];
  total: number;
}

// A weight object's table is computed on first use and cached: weight objects must not change after it.
const weightTables = new WeakMap<object, WeightTable>();

function weightTableOf(weights: Readonly<Record<string, number>>): WeightTable {
  let table = weightTables.get(weights);
  if (!table) {
    const keys = Object.keys(weights);
    const values = keys.map((key) => weights[key] ?? 0);
    const total = values.reduce((sum, weight) => sum + weight, 0);
    if (!(total > 0) || values.some((weight) => !(weight >= 0))) {
      throw new RangeError('weighted() needs non-negative weights with a positive total');
    }
    table = { keys, weights: values, total };
    weightTables.set(weights, table);
  }
  return table;
}

// cyrb128: spreads a string seed over four 32-bit words.
function cyrb128(value: string): [number, number, number, number] {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < value.length; i++) {
    const k = value.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}
