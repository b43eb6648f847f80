import { describe, expect, it } from 'vitest';
import { HistoryInputError } from '#core/history/history.errors';
import { inPeriod, monthsBetween, parseTimeBound, periodKeyRange, resolvePeriod } from '#core/history/period';

const NOW = Date.parse('2024-06-01T12:00:00.000Z');

describe('parseTimeBound', () => {
  it.each([
    ['30m', '2024-06-01T11:30:00.000Z'],
    ['24h', '2024-05-31T12:00:00.000Z'],
    ['7d', '2024-05-25T12:00:00.000Z'],
    ['2w', '2024-05-18T12:00:00.000Z'],
    ['0d', '2024-06-01T12:00:00.000Z'],
    ['  7D ', '2024-05-25T12:00:00.000Z'],
  ])('reads the relative age %s as that long before now', (text, expected) => {
    expect(parseTimeBound(text, NOW)).toBe(expected);
  });

  it.each([
    ['2024-05-01', '2024-05-01T00:00:00.000Z'],
    ['2024-05-01T08:00', '2024-05-01T08:00:00.000Z'],
    ['2024-05-01T08:00:30.250', '2024-05-01T08:00:30.250Z'],
    ['2024-05-01T08:00:00Z', '2024-05-01T08:00:00.000Z'],
    ['2024-05-01T08:00:00+02:00', '2024-05-01T06:00:00.000Z'],
    ['2024-05-01 08:00', '2024-05-01T08:00:00.000Z'],
    ['2024-02-29', '2024-02-29T00:00:00.000Z'],
  ])('reads the ISO form %s as UTC unless it carries an offset', (text, expected) => {
    expect(parseTimeBound(text, NOW)).toBe(expected);
  });

  it.each([
    '',
    'yesterday',
    '7',
    '7x',
    '-7d',
    '1.5d',
    '2024-02-30',
    '2023-02-29',
    '2024-13-01',
    '2024-05-01T25:00',
    '05/01/2024',
  ])('rejects %j, naming the flag and the accepted forms', (text) => {
    expect(() => parseTimeBound(text, NOW, '--since')).toThrow(HistoryInputError);
    expect(() => parseTimeBound(text, NOW, '--since')).toThrow(/--since must be an ISO date .* 7d/);
  });
});

describe('resolvePeriod', () => {
  it('uses the default since only when --since is absent, and "all" lifts the bound', () => {
    expect(resolvePeriod({ defaultSince: '30d' }, NOW)).toEqual({ since: '2024-05-02T12:00:00.000Z' });
    expect(resolvePeriod({ since: '1d', defaultSince: '30d' }, NOW)).toEqual({
      since: '2024-05-31T12:00:00.000Z',
    });
    expect(resolvePeriod({ since: 'all', defaultSince: '30d' }, NOW)).toEqual({});
    expect(resolvePeriod({}, NOW)).toEqual({});
  });

  it('resolves until like since', () => {
    expect(resolvePeriod({ since: '2024-05-01', until: '1d' }, NOW)).toEqual({
      since: '2024-05-01T00:00:00.000Z',
      until: '2024-05-31T12:00:00.000Z',
    });
  });

  it('rejects an empty period', () => {
    expect(() => resolvePeriod({ since: '2024-05-02', until: '2024-05-01' }, NOW)).toThrow(
      /must be before --until/,
    );
    expect(() => resolvePeriod({ since: '2024-05-01', until: '2024-05-01' }, NOW)).toThrow(HistoryInputError);
  });
});

describe('period bounds', () => {
  it('is half-open: since is in, until is out', () => {
    const period = { since: '2024-05-01T00:00:00.000Z', until: '2024-06-01T00:00:00.000Z' };
    expect(inPeriod('2024-05-01T00:00:00.000Z', period)).toBe(true);
    expect(inPeriod('2024-05-31T23:59:59.999Z', period)).toBe(true);
    expect(inPeriod('2024-06-01T00:00:00.000Z', period)).toBe(false);
    expect(inPeriod('2024-04-30T23:59:59.999Z', period)).toBe(false);
    expect(inPeriod('1999-01-01T00:00:00.000Z', {})).toBe(true);
  });

  it('gives the inclusive sort-key range of a BETWEEN (until minus one millisecond)', () => {
    expect(periodKeyRange({ since: '2024-05-01T00:00:00.000Z', until: '2024-06-01T00:00:00.000Z' })).toEqual({
      from: '2024-05-01T00:00:00.000Z',
      to: '2024-05-31T23:59:59.999Z',
    });
    expect(periodKeyRange({})).toEqual({ from: '0000-01-01T00:00:00.000Z', to: '9999-12-31T23:59:59.999Z' });
  });

  it('lists the months of a range across a year end', () => {
    expect(monthsBetween('2023-11-30T10:00:00.000Z', '2024-02-01T00:00:00.000Z')).toEqual([
      '2023-11',
      '2023-12',
      '2024-01',
      '2024-02',
    ]);
    expect(monthsBetween('2024-05-01', '2024-05-31')).toEqual(['2024-05']);
    expect(monthsBetween('2024-06-01', '2024-05-31')).toEqual([]);
  });
});
