// Layer flow: infra/app.ts (the CDK CLI) or the infra tests -> createApp -> config from context -> the
// stateful stack -> the stateless stack (given the stateful resources) -> cdk-nag on everything.
import { App, type AppProps, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type InfraConfig, loadInfraConfig } from './config';
import { StatefulStack } from './stacks/stateful-stack';
import { StatelessStack } from './stacks/stateless-stack';

export interface ProductLiveSyncApp {
  app: App;
  config: InfraConfig;
  stateful: StatefulStack;
  stateless: StatelessStack;
}

/**
 * The whole deployment. The stacks are environment-agnostic (no account or region in the templates): the
 * CLI's credentials decide where they go, and synth needs neither credentials nor network.
 */
export function createApp(props: AppProps = {}): ProductLiveSyncApp {
  const app = new App(props);
  const config = loadInfraConfig((key) => app.node.tryGetContext(key));

  const stateful = new StatefulStack(app, `${config.stackPrefix}-Stateful`, {
    description: 'Product-Live job execution sync: tables and files bucket (retained on stack deletion)',
    config,
  });
  const stateless = new StatelessStack(app, `${config.stackPrefix}-Stateless`, {
    description: 'Product-Live job execution sync: functions, schedule, launch queues, alarms',
    config,
    data: stateful,
  });
  stateless.addStackDependency(stateful);
  Tags.of(app).add('application', 'product-live-job-execution-sync');

  // Every finding of the AwsSolutions pack fails the synth unless acknowledged, with a reason, where the
  // resource is defined.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, config, stateful, stateless };
}
