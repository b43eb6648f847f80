// The emulator's seeded PRNG: same seed, same sequence; values within their ranges; stable hashes.
import { describe, expect, it } from 'vitest';
import { createSeededRandom, hashString } from '#local/emulator/seeded-random';

function draw(seed: number | string, count = 20): number[] {
  const random = createSeededRandom(seed);
  return Array.from({ length: count }, () => random.next());
}

describe('seeded random', () => {
  it('repeats the same sequence for the same seed, and another for another seed', () => {
    expect(draw(42)).toEqual(draw(42));
    expect(draw('42')).toEqual(draw(42));
    expect(draw(43)).not.toEqual(draw(42));
  });

  it('keeps a fixed sequence across code changes (demo ids and data depend on it)', () => {
    const random = createSeededRandom(1);

    expect([random.hex(8), random.int(0, 1000), random.uuid()]).toEqual([
      '3acd10ae',
      622,
      '254fb65b-2788-4fa9-b2e6-ce8a4f605684',
    ]);
  });

  it('draws floats in [0, 1) and integers within inclusive bounds', () => {
    const random = createSeededRandom('ranges');
    const ints = new Set<number>();
    for (let i = 0; i < 5_000; i++) {
      const value = random.next();
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThan(1);
      ints.add(random.int(-2, 2));
    }
    expect([...ints].sort()).toEqual([-1, -2, 0, 1, 2]);
    expect(() => random.int(3, 1)).toThrow(RangeError);
  });

  it('draws hex strings of any length and weighted keys in proportion', () => {
    const random = createSeededRandom('weights');
    expect(random.hex(64)).toMatch(/^[0-9a-f]{64}$/);
    expect(random.hex(5)).toMatch(/^[0-9a-f]{5}$/);
    const counts = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 10_000; i++) counts[random.weighted({ a: 8, b: 2, c: 0 })]++;
    expect(counts.c).toBe(0);
    expect(counts.a / 10_000).toBeCloseTo(0.8, 1);
  });

  it('forks independent, reproducible sources', () => {
    const first = createSeededRandom(7);
    const second = createSeededRandom(7);
    expect(first.fork('jobs').next()).toBe(second.fork('jobs').next());
    expect(createSeededRandom(7).fork('a').next()).not.toBe(createSeededRandom(7).fork('b').next());
  });

  it('hashes strings with 32-bit FNV-1a', () => {
    expect(hashString('')).toBe(0x811c9dc5);
    expect(hashString('a')).toBe(0xe40c292c);
    expect(hashString('foobar')).toBe(0xbf9cf968);
  });
});
