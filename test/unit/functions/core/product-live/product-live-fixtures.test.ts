import { describe, expect, it } from 'vitest';
import { FindQuery, JobExecution, JobExecutionList } from '#core/product-live/product-live.schema';
import { ProductLiveClient } from '#core/product-live/product-live-client';
import { fakeFetch, jsonReply } from '../../../../builders/fetch-responder';
import { aJobExecution, aJobExecutionList } from '../../../../builders/job-execution.builder';
import createdFixture from '../../../../fixtures/product-live/create-job-execution.response.json';
import findRequestFixture from '../../../../fixtures/product-live/find-job-executions.request.json';
import findFixture from '../../../../fixtures/product-live/find-job-executions.response.json';
import getFixture from '../../../../fixtures/product-live/get-job-execution.response.json';
import listFixture from '../../../../fixtures/product-live/list-job-executions.response.json';

// The documented example payloads are parsed by the very schemas that guard live responses.
describe('documented Product-Live examples', () => {
  it.each([
    ['create', createdFixture],
    ['get', getFixture],
  ])('parses the %s response as a job execution, unchanged', (_name, fixture) => {
    expect(JobExecution.parse(fixture)).toEqual(fixture);
  });

  it.each([
    ['list', listFixture],
    ['find', findFixture],
  ])('parses the %s response as a job execution list, unchanged', (_name, fixture) => {
    expect(JobExecutionList.parse(fixture)).toEqual(fixture);
  });

  it('parses the documented find request body as a find query', () => {
    expect(FindQuery.parse(findRequestFixture)).toEqual(findRequestFixture);
  });

  it('returns each example unchanged through the client', async () => {
    const { fetch } = fakeFetch([
      jsonReply(createdFixture, 201),
      jsonReply(getFixture),
      jsonReply(listFixture),
      jsonReply(findFixture),
    ]);
    const client = new ProductLiveClient({ baseUrl: 'https://api.product-live.com', apiKey: 'k', fetch });

    expect(await client.createJobExecution({ jobId: '65819ba43ad5b963658ab35d' })).toEqual(createdFixture);
    expect(await client.getJobExecution('658445e23ad5b929948ab731')).toEqual(getFixture);
    expect(await client.listJobExecutions({ page: 0, size: 10 })).toEqual(listFixture);
    expect(
      await client.findJobExecutions(FindQuery.parse(findRequestFixture), { page: 0, size: 10 }),
    ).toEqual(findFixture);
  });

  it('keeps the quirks of the real responses: startedAt before createdAt, a staging report URL', () => {
    const execution = JobExecution.parse(getFixture);
    expect(Date.parse(execution.startedAt ?? '')).toBeLessThan(Date.parse(execution.createdAt));
    expect(JSON.stringify(listFixture)).toContain('app.stage.product-live.com');
  });
});

describe('job execution builders', () => {
  it('build executions the schema accepts, with 24-hex ids and status-consistent dates', () => {
    const completed = aJobExecution();
    const running = aJobExecution({ status: 'RUNNING' });
    const pending = aJobExecution({ status: 'PENDING' });

    for (const execution of [completed, running, pending]) {
      expect(JobExecution.parse(execution)).toEqual(execution);
      expect(execution.id).toMatch(/^[0-9a-f]{24}$/);
      expect(execution.jobId).toMatch(/^[0-9a-f]{24}$/);
    }
    expect(new Set([completed.id, running.id, pending.id]).size).toBe(3);
    expect(completed.endedAt).toBeDefined();
    expect(running.endedAt).toBeUndefined();
    expect(running.startedAt).toBeDefined();
    expect(pending.startedAt).toBeUndefined();
  });

  it('build lists the schema accepts, with totalElements defaulting to the item count', () => {
    const items = [aJobExecution(), aJobExecution()];
    expect(JobExecutionList.parse(aJobExecutionList(items))).toMatchObject({ totalElements: 2 });
    expect(aJobExecutionList(items, 40).totalElements).toBe(40);
  });
});
