import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ListMethodRewriter, LIST_TARGET_PREFIX } from '../../../lib/localvault/list-method.js';

const test = suite('localvault LIST rewriter');

function run(chunks: string[]): string {
  const r = new ListMethodRewriter();
  return chunks.map((c) => r.push(Buffer.from(c, 'latin1')).toString('latin1')).join('');
}

test('rewrites a LIST request line to GET with the marker prefix on the target', () => {
  const out = run(['LIST /v1/secret/metadata/ HTTP/1.1\r\nHost: x\r\n\r\n']);
  assert.is(out, `GET ${LIST_TARGET_PREFIX}/v1/secret/metadata/ HTTP/1.1\r\nHost: x\r\n\r\n`);
});

test('leaves other methods alone', () => {
  const req = 'GET /v1/sys/health HTTP/1.1\r\nHost: x\r\n\r\n';
  assert.is(run([req]), req);
});

test('does not rewrite a body that happens to start with LIST', () => {
  const body = 'LIST /v1/x HTTP/1.1\r\n\r\n';
  const req = `POST /v1/secret/data/a HTTP/1.1\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  const next = 'LIST /v1/secret/metadata/ HTTP/1.1\r\n\r\n';
  const out = run([req, next]);
  assert.ok(out.startsWith(req), 'body untouched');
  assert.ok(out.endsWith(`GET ${LIST_TARGET_PREFIX}/v1/secret/metadata/ HTTP/1.1\r\n\r\n`));
});

test('follows chunked bodies and split chunks', () => {
  const req = 'POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nLIST \r\n0\r\n\r\n';
  const next = 'LIST /b HTTP/1.1\r\n\r\n';
  const whole = req + next;
  for (let split = 1; split < whole.length; split += 7) {
    const out = run([whole.slice(0, split), whole.slice(split)]);
    assert.is(out, req + `GET ${LIST_TARGET_PREFIX}/b HTTP/1.1\r\n\r\n`, `split at ${split}`);
  }
});

test('a head split across chunks: only the method waits, every other byte is handed on at once', () => {
  const r = new ListMethodRewriter();
  const parts = ['LI', 'ST /x HTTP/1.1\r\nHo', 'st: y\r\n', '\r\n'].map((c) => r.push(Buffer.from(c, 'latin1')).toString('latin1'));
  assert.equal(parts, ['', `GET ${LIST_TARGET_PREFIX}/x HTTP/1.1\r\nHo`, 'st: y\r\n', '\r\n']);
});

test('an unfinished head and bare-LF lines are handed on as they come (node:http judges them)', () => {
  const r = new ListMethodRewriter();
  assert.is(r.push(Buffer.from('GET /v1/sys/health HTTP/1.1\nHost: x\n', 'latin1')).toString('latin1'), 'GET /v1/sys/health HTTP/1.1\nHost: x\n');
  assert.is(r.push(Buffer.from('\n', 'latin1')).toString('latin1'), '\n');
});

test.run();
