// Layer flow: dashboard rows -> this module -> the lake marks (state table), the lake bucket (refreshLakeCache,
// as `history sql` does) and DuckDB over the local copy. The copy is refreshed when the marks change: the sync
// marks the days it writes and the lake run clears a day's mark once it rewrote the day, so a changed lake
// always comes with changed marks. Read-only: nothing is written but the local copy.
import type { LakeMarks, LakeMarksState } from '#core/store/lake-marks';
import { DuckDbLake } from '../warehouse/duckdb-lake';
import { refreshLakeCache } from '../warehouse/lake-cache';
import type { LakeAccess, LakeLocation, LakeSnapshot } from './execution-rows';

/** An old DuckDB instance is closed this long after a newer copy replaced it (queries on it finish first). */
const RETIRE_AFTER_MS = 30_000;

export class LakeSnapshots implements LakeAccess {
  private current: { key: string; snapshot: LakeSnapshot } | undefined;
  private refreshing: Promise<LakeSnapshot | undefined> | undefined;
  private readonly retired = new Set<DuckDbLake>();

  constructor(
    private readonly marks: Pick<LakeMarks, 'read'>,
    private readonly location: LakeLocation,
  ) {}

  async snapshot(): Promise<LakeSnapshot | undefined> {
    const marks = await this.marks.read();
    // Before the first build every stored day is marked: until then the lake is not the store's equal.
    if (marks.initializedAt === undefined) return undefined;
    const key = JSON.stringify(marks);
    if (this.current?.key === key) return this.current.snapshot;
    this.refreshing ??= this.refresh(key, marks).finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async refresh(key: string, marks: LakeMarksState): Promise<LakeSnapshot> {
    await refreshLakeCache(await this.location.s3(), this.location.bucket, this.location.cacheDir);
    const lake = await DuckDbLake.open(this.location.cacheDir);
    const previous = this.current?.snapshot.lake;
    this.current = { key, snapshot: { lake, marks } };
    if (previous) {
      this.retired.add(previous);
      setTimeout(() => {
        this.retired.delete(previous);
        previous.close();
      }, RETIRE_AFTER_MS).unref();
    }
    return this.current.snapshot;
  }

  close(): void {
    this.current?.snapshot.lake.close();
    this.current = undefined;
    for (const lake of this.retired) lake.close();
    this.retired.clear();
  }
}
