// Layer flow: runDoctor -> DOCTOR_CHECKS (this list, in report order) -> one module per check. A new check is one
// module and one line here (docs/operations.md "Is it working?" lists them).
import type { DoctorCheck } from '../doctor-check';
import { alarmsCheck } from './alarms';
import { apiKeyCheck } from './api-key';
import { auditCheck } from './audit-recent';
import { eventsFailuresCheck, eventsFollowCheck, eventsStreamCheck } from './events';
import { filesCopiesCheck } from './files-copies';
import { jobsHealthCheck, syncRunErrorsCheck } from './health-checks';
import { lakeAthenaCheck, lakeDaysCheck, lakeGlueCheck } from './lake';
import { launchQueuesCheck } from './launch-queues';
import { localDataDirCheck } from './local-data-dir';
import { localJavaCheck } from './local-java';
import { localPortsCheck } from './local-ports';
import { localStackCheck } from './local-stack';
import { syncLagCheck, syncLastRunCheck, syncLeaseCheck } from './sync-runs';
import { syncScheduleCheck } from './sync-schedule';
import { versionCheck } from './version';

export const DOCTOR_CHECKS: readonly DoctorCheck[] = [
  localJavaCheck(),
  localPortsCheck(),
  localDataDirCheck(),
  localStackCheck(),
  versionCheck(),
  apiKeyCheck(),
  syncScheduleCheck(),
  syncLastRunCheck(),
  syncLagCheck(),
  syncLeaseCheck(),
  syncRunErrorsCheck(),
  filesCopiesCheck(),
  auditCheck(),
  lakeDaysCheck(),
  lakeGlueCheck(),
  lakeAthenaCheck(),
  eventsStreamCheck(),
  eventsFailuresCheck(),
  eventsFollowCheck(),
  launchQueuesCheck(),
  alarmsCheck(),
  jobsHealthCheck(),
];
