// The stack outputs `npm run doctor -- --stack NAME` finds the deployment by (local/doctor/deployed-target.ts): each
// names the resource it says, and Version is the checkout's code version.
import { beforeAll, describe, expect, it } from 'vitest';
import { codeVersion } from '#infra/code-version';
import { DOCTOR_OUTPUTS } from '#local/doctor/deployed-target';
import { type Synthesized, synthesize } from './support/synth';
import { TemplateView } from './support/template-view';

let synth: Synthesized;
let view: TemplateView;
let outputs: Record<string, { Value: unknown }>;

beforeAll(() => {
  synth = synthesize();
  view = new TemplateView(synth);
  outputs = {
    ...(synth.statefulTemplate.toJSON().Outputs as Record<string, { Value: unknown }>),
    ...(synth.statelessTemplate.toJSON().Outputs as Record<string, { Value: unknown }>),
  };
}, 120_000);

describe('stack outputs for npm run doctor', () => {
  it('has every output doctor reads', () => {
    const missing = Object.values(DOCTOR_OUTPUTS).filter((name) => outputs[name] === undefined);
    expect(missing).toEqual([]);
  });

  it('names the sync, lake and follow schedules', () => {
    const ref = (construct: Parameters<TemplateView['logicalId']>[0]) => ({ Ref: view.logicalId(construct) });
    const { sync, lake, follow } = synth.stateless;
    expect(outputs.SyncScheduleName?.Value).toEqual(ref(sync.schedule));
    expect(outputs.LakeScheduleName?.Value).toEqual(ref(lake.schedule));
    expect(outputs.FollowScheduleName?.Value).toEqual(ref(follow.schedule));
    // Ref of a schedule is its name; doctor reads it from the default group, where the stack creates them.
    for (const schedule of [sync.schedule, lake.schedule, follow.schedule]) {
      expect(view.statelessResource(schedule).Properties).not.toHaveProperty('GroupName');
    }
  });

  it("names the executions stream's event source mapping of the events function", () => {
    const resources = synth.statelessTemplate.toJSON().Resources as Record<
      string,
      { Type: string; Properties: Record<string, unknown> }
    >;
    const mappings = Object.entries(resources).filter(
      ([, resource]) =>
        resource.Type === 'AWS::Lambda::EventSourceMapping' &&
        JSON.stringify(resource.Properties.FunctionName) ===
          JSON.stringify({ Ref: view.logicalId(synth.stateless.events.handler.function) }),
    );
    expect(mappings).toHaveLength(1);
    expect(outputs.EventsSourceMappingId?.Value).toEqual({ Ref: mappings[0]?.[0] });
  });

  it('lists every alarm of the monitoring construct, comma-separated', () => {
    const alarms = Object.values(synth.stateless.monitoring.alarms).map((alarm) => ({
      Ref: view.logicalId(alarm),
    }));
    expect(alarms.length).toBeGreaterThan(5);
    expect(outputs.AlarmNames?.Value).toEqual({ 'Fn::Join': [',', alarms] });
  });

  it("carries the checkout's code version", () => {
    expect(outputs.Version?.Value).toBe(codeVersion());
    expect(outputs.Version?.Value).toMatch(/^\d+\.\d+\.\d+\+[0-9a-f]{12}$/);
  });
});
