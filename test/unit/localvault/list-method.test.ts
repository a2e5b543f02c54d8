import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ListMethodRewriter, ORIGINAL_METHOD_HEADER } from '../../../lib/localvault/list-method.js';

const test = suite('localvault LIST rewriter');

function run(chunks: string[]): string {
  const r = new ListMethodRewriter();
  return chunks.map((c) => r.push(Buffer.from(c, 'latin1')).toString('latin1')).join('');
}

test('rewrites a LIST request line and adds the marker header', () => {
  const out = run(['LIST /v1/secret/metadata/ HTTP/1.1\r\nHost: x\r\n\r\n']);
  assert.is(out, `GET /v1/secret/metadata/ HTTP/1.1\r\n${ORIGINAL_METHOD_HEADER}: LIST\r\nHost: x\r\n\r\n`);
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
  assert.ok(out.endsWith(`GET /v1/secret/metadata/ HTTP/1.1\r\n${ORIGINAL_METHOD_HEADER}: LIST\r\n\r\n`));
});

test('follows chunked bodies and split chunks', () => {
  const req = 'POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nLIST \r\n0\r\n\r\n';
  const next = 'LIST /b HTTP/1.1\r\n\r\n';
  const whole = req + next;
  for (let split = 1; split < whole.length; split += 7) {
    const out = run([whole.slice(0, split), whole.slice(split)]);
    assert.is(out, req + `GET /b HTTP/1.1\r\n${ORIGINAL_METHOD_HEADER}: LIST\r\n\r\n`, `split at ${split}`);
  }
});

test('a head split across chunks is rewritten once complete', () => {
  const out = run(['LI', 'ST /x HTTP/1.1\r\nHo', 'st: y\r\n\r\n']);
  assert.is(out, `GET /x HTTP/1.1\r\n${ORIGINAL_METHOD_HEADER}: LIST\r\nHost: y\r\n\r\n`);
});

test.run();
