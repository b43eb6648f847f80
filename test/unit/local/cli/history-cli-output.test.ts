import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import {
  formatBytes,
  formatDuration,
  formatInstant,
  formatPercent,
  formatTable,
  RULE,
  truncate,
} from '#local/cli/cli-output';

describe('formatTable', () => {
  it('aligns every column to its widest cell, numbers to the right, two spaces apart', () => {
    const text = formatTable(
      [{ header: 'JOB' }, { header: 'RUNS', align: 'right' }, { header: 'NOTE' }],
      [
        ['Sync Prices', '103', 'ok'],
        ['Import', '7', ''],
      ],
    );
    expect(text.split('\n')).toEqual([
      'JOB          RUNS  NOTE',
      'Sync Prices   103  ok',
      'Import          7',
    ]);
  });

  it('draws a rule across the columns and pads short rows', () => {
    const text = formatTable(
      [{ header: 'A' }, { header: 'BB', align: 'right' }],
      [['xyz'], RULE, ['t', '1']],
    );
    expect(text.split('\n')).toEqual(['A    BB', 'xyz', '───  ──', 't     1']);
  });

  it('measures characters, not bytes, so accents and block characters keep the columns straight', () => {
    const text = formatTable(
      [{ header: 'T' }, { header: 'N', align: 'right' }],
      [
        ['Éléments ✓', '1'],
        ['ab', '22'],
      ],
    );
    const [, first, second] = text.split('\n');
    expect([...(first ?? '')].length).toBe([...(second ?? '')].length);
  });

  it('measures display width: a Japanese title and an emoji keep the columns aligned', () => {
    const text = formatTable(
      [{ header: 'TITLE' }, { header: 'RUNS', align: 'right' }],
      [
        ['商品の輸入', '12'],
        ['Export 📦 feed', '3'],
        ['Plain', '100'],
      ],
    );
    const lines = text.split('\n');
    // Each wide character takes two terminal columns: the RUNS column ends at the same column on every line.
    expect(lines.map((line) => stringWidth(line))).toEqual([20, 20, 20, 20]);
    expect(lines[1]).toBe('商品の輸入        12');
    expect(lines[2]).toBe('Export 📦 feed     3');
  });

  it('never leaves trailing spaces', () => {
    const text = formatTable(
      [{ header: 'A' }, { header: 'B' }],
      [
        ['a', ''],
        ['aaaa', 'b'],
      ],
    );
    for (const line of text.split('\n')) expect(line).toBe(line.trimEnd());
  });
});

describe('human formats', () => {
  it('truncates with an ellipsis', () => {
    expect(truncate('Export Products to Google Shopping', 10)).toBe('Export Pr…');
    expect(truncate('short', 10)).toBe('short');
  });

  it('truncates by display width, never through a wide character or an emoji sequence', () => {
    expect(truncate('商品の輸入ジョブ', 7)).toBe('商品の…');
    expect(stringWidth(truncate('商品の輸入ジョブ', 7))).toBeLessThanOrEqual(7);
    expect(truncate('👩‍💻 developers', 4)).toBe('👩‍💻 …');
  });

  it.each<[number | null, string]>([
    [null, '-'],
    [0, '0ms'],
    [850, '850ms'],
    [42_400, '42s'],
    [187_000, '3m 07s'],
    [3_720_000, '1h 02m'],
    [183_600_000, '2d 03h'],
  ])('shows a duration of %j ms as %j', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('shows sizes, instants and ratios', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(12_595)).toBe('12.3 KB');
    expect(formatBytes(4 * 1024 * 1024)).toBe('4.0 MB');
    expect(formatBytes(undefined)).toBe('-');
    expect(formatInstant('2024-05-31T14:02:11.000Z')).toBe('2024-05-31 14:02');
    expect(formatPercent(0.8333)).toBe('83.3%');
    expect(formatPercent(null)).toBe('-');
  });
});
