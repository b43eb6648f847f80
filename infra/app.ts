// The CDK app (cdk.json: `tsx infra/app.ts`): `npx cdk synth` / `npx cdk deploy --all -c key=value ...`.
// Configuration comes from CDK context; see infra/config.ts for every key and its default.
import { createApp } from './create-app';

createApp().app.synth();
