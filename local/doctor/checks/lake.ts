// Checks of the warehouse: lake.days (the days marked for a rewrite, and for how long: the state table's lake marks),
// lake.glue (deployed: the Glue tables exist over the lake bucket with partition projection on `day`) and
// lake.athena (deployed: the workgroup is enabled; with --athena, a count(*) through it returns).
import { GetWorkGroupCommand } from '@aws-sdk/client-athena';
import { GetTableCommand, type GlueClient } from '@aws-sdk/client-glue';
import { LAKE_SETTLE_MS, markedAt } from '#core/store/lake-marks';
import {
  LAKE_TABLES,
  type LakeTableName,
  lakeTablePrefix,
  PARTITION_COLUMN,
} from '#core/warehouse/lake-tables';
import { runAthenaQuery } from '../../warehouse/athena-engine';
import { type DoctorCheck, fail, ok, warn } from '../doctor-check';
import { awsErrorName, count, duration, instant, oneLine } from '../wording';

/** Days waiting longer than this are a fail: the LakeBehind alarm's three hours. */
const LAKE_BEHIND_MS = 3 * 3_600_000;

export function lakeDaysCheck(): DoctorCheck {
  return {
    id: 'lake.days',
    targets: ['local', 'aws'],
    async run(context) {
      const [state, cadence] = await Promise.all([context.state(), context.cadence()]);
      const now = context.now();
      const { marks, initializedAt } = state.lakeMarks;
      const lakeFunction =
        context.target.kind === 'aws' ? context.target.outputOrUndefined('lakeFunction') : undefined;
      const runLake =
        context.target.kind === 'local'
          ? `the lake runs after each sync of npm start: ${context.fixes.syncNow()}`
          : `run it now: aws lambda invoke --function-name ${lakeFunction ?? '<LakeFunctionName>'} --payload '{}' --cli-binary-format raw-in-base64-out --cli-read-timeout 0 lake.json`;
      if (initializedAt === undefined) {
        return warn(
          'the lake is not built yet: no lake run has marked and rewritten the stored days',
          runLake,
        );
      }
      const days = Object.keys(marks).sort();
      if (days.length === 0) return ok(`every stored day is in the lake (built ${instant(initializedAt)})`);
      const oldest = Math.min(...Object.values(marks).map(markedAt));
      const age = Math.max(0, now - oldest);
      const waiting = `${count(days.length, 'day waits', 'days wait')} for a rewrite (${days[0]}${days.length > 1 ? ` … ${days[days.length - 1]}` : ''}), the oldest marked ${duration(age)} ago`;
      if (!cadence.scheduled) return ok(`${waiting}; the next lake run rewrites them`);
      const normal = (cadence.lakeEveryMs ?? 0) * 2 + LAKE_SETTLE_MS + cadence.leaseMs;
      if (age <= normal) return ok(`${waiting}: the next lake run rewrites them`);
      const logs =
        context.target.kind === 'local'
          ? 'what npm start prints after each sync (the lake line)'
          : `aws logs tail ${context.target.outputOrUndefined('lakeLogGroup') ?? '<LakeLogGroupName>'} --since 3h`;
      const fix = `look for "lake: a day could not be rewritten" in ${logs}; ${runLake}`;
      return age <= LAKE_BEHIND_MS ? warn(waiting, fix) : fail(waiting, fix);
    },
  };
}

export function lakeGlueCheck(): DoctorCheck {
  return {
    id: 'lake.glue',
    targets: ['aws'],
    async run(context) {
      if (context.target.kind !== 'aws') throw new Error('lake.glue checks a deployed stack only');
      const { target } = context;
      const database = target.output('glueDatabase');
      const bucket = target.output('lakeBucket');
      const redeploy = 'deploy this checkout again (npx cdk deploy --all): the stateful stack defines them';
      const elsewhere: string[] = [];
      for (const name of Object.keys(LAKE_TABLES) as LakeTableName[]) {
        let table: Awaited<ReturnType<typeof readTable>>;
        try {
          table = await readTable(target.clients.glue, database, name);
        } catch (error) {
          if (awsErrorName(error) === 'EntityNotFoundException') {
            return fail(
              `the Glue table ${database}.${name} does not exist: Athena cannot query the lake`,
              redeploy,
            );
          }
          throw error;
        }
        const parameters = table?.Parameters ?? {};
        const partitioned = (table?.PartitionKeys ?? []).some((key) => key.Name === PARTITION_COLUMN);
        if (
          !partitioned ||
          parameters['projection.enabled'] !== 'true' ||
          parameters[`projection.${PARTITION_COLUMN}.type`] !== 'date'
        ) {
          return fail(
            `the Glue table ${database}.${name} has no partition projection on ${PARTITION_COLUMN}: Athena finds no partition`,
            redeploy,
          );
        }
        const location = table?.StorageDescriptor?.Location ?? '';
        const expected = `s3://${bucket}/${lakeTablePrefix(name)}`;
        if (location.replace(/\/?$/, '/') !== expected)
          elsewhere.push(`${name} reads ${location || 'nothing'}, not ${expected}`);
      }
      if (elsewhere.length > 0)
        return warn(`the Glue tables point elsewhere: ${elsewhere.join('; ')}`, redeploy);
      return ok(
        `the Glue tables ${database}.${Object.keys(LAKE_TABLES).join(', .')} read s3://${bucket}/lake/ with partition projection on ${PARTITION_COLUMN}`,
      );
    },
  };
}

async function readTable(glue: GlueClient, database: string, name: string) {
  const { Table } = await glue.send(new GetTableCommand({ DatabaseName: database, Name: name }));
  return Table;
}

/** The query of `--athena`: the smallest one that reads the table through the workgroup. */
const ATHENA_CHECK_SQL = 'SELECT count(*) AS executions FROM executions';

export function lakeAthenaCheck(): DoctorCheck {
  return {
    id: 'lake.athena',
    targets: ['aws'],
    async run(context) {
      if (context.target.kind !== 'aws') throw new Error('lake.athena checks a deployed stack only');
      const { target } = context;
      const workGroup = target.output('athenaWorkGroup');
      let state: string | undefined;
      try {
        const answer = await target.clients.athena.send(new GetWorkGroupCommand({ WorkGroup: workGroup }));
        state = answer.WorkGroup?.State;
      } catch (error) {
        if (awsErrorName(error) !== 'InvalidRequestException') throw error;
        return fail(
          `the Athena workgroup ${workGroup} does not exist`,
          'deploy this checkout again: npx cdk deploy --all',
        );
      }
      if (state === 'DISABLED') {
        return fail(
          `the Athena workgroup ${workGroup} is disabled: no query runs in it`,
          `enable it: aws athena update-work-group --work-group ${workGroup} --state ENABLED`,
        );
      }
      if (!context.options.athena) {
        return ok(
          `the Athena workgroup ${workGroup} is enabled (no query run: --athena runs count(*), which costs one)`,
        );
      }
      const database = target.output('glueDatabase');
      let rows: number;
      try {
        const result = await runAthenaQuery(target.clients.athena, ATHENA_CHECK_SQL, {
          workgroup: workGroup,
          database,
        });
        rows = Number(result.rows[0]?.executions ?? Number.NaN);
      } catch (error) {
        return fail(
          `count(*) through the workgroup ${workGroup} failed: ${oneLine(error instanceof Error ? error.message : String(error))}`,
          'see lake.glue; the query and its error are in the Athena console (Recent queries of the workgroup)',
        );
      }
      const built = (await context.state().catch(() => undefined))?.lakeMarks.initializedAt;
      if (rows === 0 && built) {
        return warn(
          `count(*) through the workgroup ${workGroup} returned 0 rows, though the lake was built ${instant(built)}`,
          'see lake.glue (where the tables read) and lake.days',
        );
      }
      return ok(
        `count(*) through the workgroup ${workGroup} returned ${rows} executions (one query, billed by bytes scanned)`,
      );
    },
  };
}
