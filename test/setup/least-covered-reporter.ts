// Layer flow: vitest with --coverage (npm run test:coverage) -> this reporter -> the console: after the test
// summary and before the coverage summary, the files of functions/ with the fewest lines covered, where the next
// test counts most.
import { relative } from 'node:path';
import type { Reporter, Vitest } from 'vitest/node';

interface Totals {
  total: number;
  covered: number;
  pct: number;
}

/** The part of istanbul's CoverageMap (what vitest hands to onCoverage) read here. */
interface CoverageMapView {
  files(): string[];
  fileCoverageFor(file: string): { toSummary(): { lines: Totals; branches: Totals } };
}

/** Prints the `count` least covered files by lines (then by uncovered lines), with their branch coverage. */
export class LeastCoveredReporter implements Reporter {
  private root = process.cwd();
  private log: (message: string) => void = console.log;
  private table: string[] = [];

  constructor(private readonly count = 10) {}

  onInit(vitest: Vitest): void {
    this.root = vitest.config.root;
    this.log = (message) => vitest.logger.log(message);
  }

  /** Vitest hands the coverage over before the run's end: keep the table for after the test summary. */
  onCoverage(coverage: unknown): void {
    const map = coverage as CoverageMapView;
    const rows = map
      .files()
      .map((file) => {
        // The summary's fields are getters: read them, do not spread it.
        const { lines, branches } = map.fileCoverageFor(file).toSummary();
        return { file: relative(this.root, file), lines, branches };
      })
      .filter((row) => row.lines.total > 0)
      .sort(
        (a, b) =>
          a.lines.pct - b.lines.pct ||
          b.lines.total - b.lines.covered - (a.lines.total - a.lines.covered) ||
          a.file.localeCompare(b.file),
      )
      .slice(0, this.count);
    if (rows.length === 0) return;
    const percent = (totals: Totals) => (totals.total === 0 ? '-' : `${totals.pct.toFixed(1)}%`).padStart(6);
    this.table = [
      `\nLeast covered files (lines, uncovered/total, branches):`,
      ...rows.map((row) => {
        const uncovered = `${row.lines.total - row.lines.covered}/${row.lines.total}`.padStart(9);
        return `  ${percent(row.lines)} ${uncovered} ${percent(row.branches)}  ${row.file}`;
      }),
    ];
  }

  onTestRunEnd(): void {
    for (const line of this.table) this.log(line);
    this.table = [];
  }
}
