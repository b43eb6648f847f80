import { describe, expect, it } from 'vitest';
import { InvalidLaunchMessageError } from '#functions/launch/launch.errors';
import { MAX_IDEMPOTENCY_KEY_LENGTH, parseLaunchMessage } from '#functions/launch/launch-message.schema';

const JOB_ID = '65819ba43ad5b963658ab35d';

function reasonFor(body: string): string {
  try {
    parseLaunchMessage(body);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidLaunchMessageError);
    const message = (error as InvalidLaunchMessageError).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error(`expected ${body} to be rejected`);
}

describe('launch message schema', () => {
  it('accepts a message with every field, and one with only a jobId', () => {
    expect(
      parseLaunchMessage(
        JSON.stringify({ jobId: JOB_ID, input: { file: { url: 'https://x' } }, idempotencyKey: 'order-1' }),
      ),
    ).toEqual({ jobId: JOB_ID, input: { file: { url: 'https://x' } }, idempotencyKey: 'order-1' });
    expect(parseLaunchMessage(`{"jobId":"${JOB_ID}"}`)).toEqual({ jobId: JOB_ID });
  });

  it('names malformed JSON', () => {
    expect(reasonFor('{"jobId": ')).toMatch(/^invalid message: body is not valid JSON \(.+\)$/);
  });

  it('names a body that is JSON but not an object', () => {
    expect(reasonFor('[]')).toBe('invalid message: body must be a JSON object with a "jobId", got an array');
    expect(reasonFor('"go"')).toBe(
      'invalid message: body must be a JSON object with a "jobId", got a string',
    );
    expect(reasonFor('null')).toBe('invalid message: body must be a JSON object with a "jobId", got null');
  });

  it('names a missing or malformed jobId', () => {
    expect(reasonFor('{}')).toBe('invalid message: jobId: is required');
    expect(reasonFor('{"jobId": 42}')).toBe(
      'invalid message: jobId: expected a string (a Product-Live job id)',
    );
    expect(reasonFor('{"jobId": "job-1"}')).toBe(
      'invalid message: jobId: expected 24 hexadecimal characters',
    );
  });

  it('rejects an input that is not a JSON object', () => {
    for (const input of ['[]', 'null', '"text"', '3']) {
      expect(reasonFor(`{"jobId": "${JOB_ID}", "input": ${input}}`)).toBe(
        'invalid message: input: expected a JSON object',
      );
    }
  });

  it('bounds the idempotencyKey to 1..256 characters of text', () => {
    expect(reasonFor(`{"jobId": "${JOB_ID}", "idempotencyKey": ""}`)).toBe(
      'invalid message: idempotencyKey: must not be empty',
    );
    expect(reasonFor(`{"jobId": "${JOB_ID}", "idempotencyKey": 7}`)).toBe(
      'invalid message: idempotencyKey: expected a string',
    );
    const longest = 'k'.repeat(MAX_IDEMPOTENCY_KEY_LENGTH);
    expect(
      parseLaunchMessage(JSON.stringify({ jobId: JOB_ID, idempotencyKey: longest })).idempotencyKey,
    ).toBe(longest);
    expect(reasonFor(JSON.stringify({ jobId: JOB_ID, idempotencyKey: `${longest}k` }))).toBe(
      'invalid message: idempotencyKey: must be at most 256 characters',
    );
  });

  it('rejects unknown fields, so that a misspelt idempotencyKey is never silently ignored', () => {
    expect(reasonFor(`{"jobId": "${JOB_ID}", "idempotencykey": "k"}`)).toBe(
      'invalid message: unknown field "idempotencykey" (expected jobId, input, idempotencyKey, taskToken)',
    );
  });

  it('lists every problem on one line', () => {
    expect(reasonFor('{"jobId": "x", "input": [], "extra": 1}')).toBe(
      'invalid message: jobId: expected 24 hexadecimal characters; input: expected a JSON object; ' +
        'unknown field "extra" (expected jobId, input, idempotencyKey, taskToken)',
    );
  });
});
