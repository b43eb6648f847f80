// Check local.java: `java` on PATH is a JDK 17 or newer (DynamoDB Local runs on it; the JDK's compiler builds its
// loopback launcher). Reads `java -version` and `java --list-modules` (local/aws/dynamodb-local.ts checkJava).
import { checkJava, JavaMissingError } from '../../aws/dynamodb-local';
import { type DoctorCheck, fail, ok, warn } from '../doctor-check';

const INSTALL =
  'install a JDK 17 or newer (sudo apt-get install openjdk-17-jdk-headless, brew install openjdk@17, or https://adoptium.net) and put `java` on your PATH';

export interface JavaCheckDeps {
  checkJava: () => Promise<{ version: string }>;
}

export function localJavaCheck(deps: JavaCheckDeps = { checkJava }): DoctorCheck {
  return {
    id: 'local.java',
    targets: ['local'],
    async run(context) {
      try {
        const { version } = await deps.checkJava();
        return ok(`${version} (a JDK: DynamoDB Local can run)`);
      } catch (error) {
        if (!(error instanceof JavaMissingError)) throw error;
        const detail = /\(([^)]*)\)/.exec(error.message)?.[1] ?? error.message;
        // A stack that runs found its Java when it started; the next `npm start` will not.
        if (context.target.kind === 'local' && context.target.stackFile.status === 'running') {
          return warn(`the running stack works, but the next npm start will not: ${detail}`, INSTALL);
        }
        return fail(`no usable Java: ${detail}`, INSTALL);
      }
    },
  };
}
