import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { renderDriverPolicy } from '../../../lib/access/boundary.js';
import { renderPathPolicy } from '../../../lib/access/volume-access.js';
import { DEFAULT_POLICY } from '../../../lib/localvault/builtin-policies.js';
import { renderPolicy } from '../../../lib/vault/policy.js';
import { startTestStore, type TestStore } from '../../helpers/store.js';

/**
 * The embedded store's policy parser against Vault's, case by case, over HTTP
 * (`PUT sys/policies/acl/NAME`): what Vault accepts is stored (204) and grants what Vault's would;
 * what Vault refuses is a 400 `{"errors":["failed to parse policy: ..."]}` with Vault's text, and
 * nothing is stored. Each case names the source rule it follows. Sources (hashicorp/hcl v1 as
 * Vault vendors it, v1.0.1-vault-7; hashicorp/vault): scanner = hcl/scanner/scanner.go,
 * parser = hcl/parser/parser.go, json = hcl/json/{scanner,parser}, decoder = hcl/decoder.go,
 * policy = vault/policy.go, hclutil = sdk/helper/hclutil/hcl.go. The duplicate-argument
 * refusal is Vault 1.21's (before, the last value won); its text is from Vault's
 * TestSystemBackend_writeHCLDuplicateAttributes.
 */
const test = suite('localvault policy syntax: what Vault accepts and refuses');
let store: TestStore;

test.before(async () => {
  store = await startTestStore();
});
test.after(async () => {
  await store.stop();
});

async function call(method: string, path: string, body?: unknown, token = store.rootToken) {
  const res = await fetch(`${store.addr}/v1/${path}`, {
    method,
    headers: { 'X-Vault-Token': token },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const V2 = { mount: 'secret/', version: 2 as const };
const V1 = { mount: 'kv1/', version: 1 as const };

interface Case {
  name: string;
  policy: string;
  /** undefined: Vault accepts it. Otherwise the text after "failed to parse policy: ". */
  refused?: string;
  /** For an accepted policy: capabilities a token with it has on a path (sys/capabilities). */
  grants?: Record<string, string[]>;
  ref: string;
}

const CASES: Case[] = [
  // What secretfs itself writes, and the usual hand-written policies: all accepted.
  { name: 'a volume policy (KV v2)', policy: renderPathPolicy('secret/app', V2, 'docker secretfs volume app: read secret/app and below'), grants: { 'secret/data/app/db': ['read'], 'secret/metadata/app/': ['list'], 'secret/data/other': ['deny'] }, ref: 'policy: parsePaths' },
  { name: 'an allow policy (KV v1)', policy: renderPathPolicy('kv1/team', V1, 'secretfs allow: kv1/team'), grants: { 'kv1/team/x': ['list', 'read'], 'kv1/team/': ['list'] }, ref: 'policy: parsePaths' },
  { name: 'the driver policy', policy: renderDriverPolicy(), grants: { 'auth/token/create/secretfs-volume': ['update'], 'sys/policies/acl/secretfs-allow-x': ['read'], 'sys/policies/acl/x': ['deny'] }, ref: 'policy: parsePaths' },
  { name: '`policy create` with write and list', policy: renderPolicy({ read: ['secret/a/*'], write: ['secret/b'], list: true }, () => V2), grants: { 'secret/data/b': ['create', 'delete', 'patch', 'read', 'update'] }, ref: 'policy: parsePaths' },
  { name: "Vault's default policy (comments, templated paths)", policy: DEFAULT_POLICY, grants: { 'auth/token/lookup-self': ['read'] }, ref: 'vault/policy_store.go defaultPolicy' },
  { name: 'parameters, wrapping TTLs, + and * (Vault docs)', policy: 'path "secret/+/teamb/*" {\n  capabilities = ["create", "update"]\n  allowed_parameters = {\n    "bar" = ["zip", "zap"]\n    "*" = []\n  }\n  denied_parameters = { "secret" = [] }\n  required_parameters = ["bar"]\n  min_wrapping_ttl = "1s"\n  max_wrapping_ttl = 90\n}\n', grants: { 'secret/x/teamb/y': ['create', 'update'] }, ref: 'policy: parsePaths' },
  { name: 'legacy policy = "write" (no patch)', policy: 'path "secret/legacy" { policy = "write" }', grants: { 'secret/legacy': ['create', 'delete', 'list', 'read', 'update'] }, ref: 'policy: OldWritePathPolicy' },
  { name: 'the JSON form', policy: '{"path": {"secret/json/*": {"capabilities": ["read", "list"]}}}', grants: { 'secret/json/x': ['list', 'read'] }, ref: 'json: parser + flatten.go' },
  { name: 'comments of every kind, a trailing comma, CRLF', policy: '# hash\r\n// slashes\r\n/* block\r\n */ path "c" { /* inline */ capabilities = ["read",] } # end\r\n', grants: { c: ['read'] }, ref: 'scanner: scanComment; parser: listType' },
  { name: 'a block repeated for one path is a union, not a duplicate', policy: 'path "r" { capabilities = ["read"] }\npath "r" { capabilities = ["update"] }', grants: { r: ['read', 'update'] }, ref: 'parser: blocks may repeat' },
  { name: 'the comment key and a heredoc value', policy: 'path "h" {\n  comment = <<EOT\nwhy this exists\nEOT\n  capabilities = ["read"]\n}\n', grants: { h: ['read'] }, ref: 'policy: valid keys; scanner: scanHeredoc' },
  { name: 'deny ends the list (what follows is not checked)', policy: 'path "d" { capabilities = ["deny", "fly"] }', grants: { d: ['deny'] }, ref: 'policy: goto PathFinished' },
  { name: 'a unicode escape', policy: 'path "caf\\u00e9" { capabilities = ["read"] }', grants: { 'café': ['read'] }, ref: 'scanner: scanEscape u' },
  { name: '${ keeps quotes inside the string: one path, the one after it', policy: 'path "x${" { capabilities = ["read"] } path "}" { capabilities = ["sudo"] }', grants: { x: ['deny'], '}': ['deny'] }, ref: 'scanner: scanString braces' },
  { name: 'JSON: booleans in a list are dropped, trailing text is not read', policy: '{"path": {"jb": {"capabilities": ["read", true]}}} trailing', grants: { jb: ['read'] }, ref: 'json: listType BOOL; Parse reads one object' },
  { name: 'a templated path: stored, and grants nothing to a token without an identity entity (the literal path included)', policy: 'path "secret/data/{{identity.entity.id}}/*" { capabilities = ["read"] }', grants: { 'secret/data/{{identity.entity.id}}/x': ['deny'] }, ref: 'policy: parsePaths (a template it cannot fill is skipped)' },
  { name: 'only whitespace (only an empty text is "not supplied")', policy: ' \n\t', grants: { a: ['deny'] }, ref: 'logical_system.go handlePoliciesSet: policy.Raw == ""' },
  { name: 'only a comment', policy: '# nothing yet\n', grants: { a: ['deny'] }, ref: 'parser: empty objectList' },

  // NUL, escapes, characters HCL has no place for.
  { name: 'NUL between tokens', policy: 'path "a" {\u0000 capabilities = ["read"] }', refused: 'At 1:11: unexpected null character (0x00)', ref: 'scanner: next (NUL)' },
  { name: 'NUL in a string', policy: 'path "a\u0000b" { capabilities = ["read"] }', refused: 'At 1:39: literal not terminated', ref: 'scanner: next returns eof at NUL; scanString' },
  { name: 'escaped slash \\/ (valid JSON, not HCL)', policy: 'path "a\\/b" { capabilities = ["read"] }', refused: 'At 1:9: illegal char escape', ref: 'scanner: scanEscape' },
  { name: 'unknown escape \\q', policy: 'path "a\\q" { capabilities = ["read"] }', refused: 'At 1:9: illegal char escape', ref: 'scanner: scanEscape' },
  { name: 'short hex escape', policy: 'path "a\\x4" { capabilities = ["read"] }', refused: 'At 1:11: illegal char escape', ref: 'scanner: scanDigits' },
  { name: 'escaped slash in the JSON form', policy: '{"path": {"a\\/b": {"capabilities": ["read"]}}}', refused: '1:14: illegal char escape', ref: 'json scanner: scanEscape' },
  { name: ': instead of =', policy: 'path "a" { capabilities: ["read"] }', refused: 'At 1:24: illegal char', ref: 'scanner: Scan default; parser_test assign_colon.hcl' },
  { name: 'a byte-order mark', policy: '\ufeffpath "a" { capabilities = ["read"] }', refused: 'At 1:1: illegal char', ref: 'scanner: isWhitespace; lex.go (BOM is not a space)' },

  // Unterminated strings, comments, objects, heredocs.
  { name: 'unterminated string (a newline ends it)', policy: 'path "a {\n  capabilities = ["read"]\n}', refused: 'At 1:10: literal not terminated', ref: 'scanner: scanString' },
  { name: 'unterminated block comment', policy: 'path "a" { capabilities = ["read"] } /* never closed', refused: 'At 1:53: comment not terminated', ref: 'scanner: scanComment' },
  { name: 'unterminated object', policy: 'path "a" {\n  capabilities = ["read"]\n', refused: 'At 3:2: object expected closing RBRACE got: EOF', ref: 'parser: objectType' },
  { name: 'unterminated heredoc', policy: 'path "a" {\n  comment = <<EOT\nnever closed\n}', refused: 'At 4:2: heredoc not terminated', ref: 'scanner: scanHeredoc' },
  { name: 'a heredoc capability ends with a newline', policy: 'path "a" { capabilities = [<<EOT\nread\nEOT\n] }', refused: 'path "a": invalid capability "read\\n"', ref: 'token: unindentHeredoc; policy: invalid capability' },

  // Structure.
  { name: 'a path without a stanza body', policy: 'path "a"\n', refused: `At 2:1: key 'path "a"' expected start of object ('{') or assignment ('=')`, ref: 'parser: objectItem' },
  { name: 'path "a" = { ... }', policy: 'path "a" = { capabilities = ["read"] }', refused: 'At 1:10: nested object expected: LBRACE got: ASSIGN', ref: 'parser: objectKey' },
  { name: 'path = { "a" = {...} } (the JSON shape written in HCL)', policy: 'path = { "a" = { capabilities = ["read"] } }', refused: '1 error occurred:\n\t* path "path": invalid key "a" on line 1\n\n', ref: 'policy: Filter("path") leaves no key; hclutil: CheckHCLKeys' },
  { name: 'list items without a comma', policy: 'path "a" { capabilities = ["read" "list"] }', refused: 'At 1:35: error parsing list, expected comma or list end, got: STRING', ref: 'parser: listType' },
  { name: 'a duplicate argument', policy: 'path "a" {\n  capabilities = ["read"]\n  capabilities = ["read", "update"]\n}', refused: 'The argument "capabilities" at 3:3 was already set. Each argument can only be defined once', ref: 'hcl v1.0.1-vault-7; vault TestSystemBackend_writeHCLDuplicateAttributes' },
  { name: 'a duplicate legacy policy (Vault test text)', policy: 'path "foo/" { policy = "read" policy = "read" }', refused: 'The argument "policy" at 1:31 was already set. Each argument can only be defined once', ref: 'vault logical_system_test.go' },
  { name: 'an unknown top-level key', policy: 'paths "a" { capabilities = ["read"] }', refused: '1 error occurred:\n\t* invalid key "paths" on line 0\n\n', ref: 'hclutil: CheckHCLKeys (a block has no = line)' },
  { name: 'an unknown path key', policy: 'path "a" { capabilities = ["read"] secret = "x" }', refused: '1 error occurred:\n\t* path "a": invalid key "secret" on line 1\n\n', ref: 'policy: parsePaths valid keys' },
  { name: 'name as a list', policy: 'path "a" { capabilities = ["read"] }\nname = ["x"]', refused: 'At 2:8: root.name: unknown type for string *ast.ListType', ref: 'decoder: decodeString' },

  // Values.
  { name: 'an unknown capability', policy: 'path "a" { capabilities = ["fly"] }', refused: 'path "a": invalid capability "fly"', ref: 'policy: capabilities switch' },
  { name: 'capabilities are case-sensitive', policy: 'path "a" { capabilities = ["READ"] }', refused: 'path "a": invalid capability "READ"', ref: 'policy: capabilities switch' },
  { name: 'root is not a capability', policy: 'path "a" { capabilities = ["root"] }', refused: 'path "a": invalid capability "root"', ref: 'policy: capabilities switch' },
  { name: 'capabilities as a string', policy: 'path "a" { capabilities = "read" }', refused: 'path "a": At 1:27: unknown slice type: *ast.LiteralType', ref: 'decoder: decodeSlice' },
  { name: 'a boolean capability', policy: 'path "a" { capabilities = [true] }', refused: 'path "a": At 1:28: root.Capabilities[0]: unknown type for string *ast.LiteralType', ref: 'decoder: decodeString' },
  { name: 'an unknown legacy policy', policy: 'path "a" { policy = "admin" }', refused: 'path "a": invalid policy "admin"', ref: 'policy: Map old-style policies' },
  { name: 'an unknown capability (JSON form)', policy: '{"path": {"a": {"capabilities": ["nope"]}}}', refused: 'path "a": invalid capability "nope"', ref: 'policy: capabilities switch' },
  { name: '+* in a path', policy: 'path "a/+*" { capabilities = ["read"] }', refused: `path "a/+*": invalid use of wildcards ('+*' is forbidden)`, ref: 'policy: parsePaths' },
  { name: 'an unbalanced template', policy: 'path "secret/}}x" { capabilities = ["read"] }', refused: 'failed to validate policy templating: unbalanced templating characters', ref: 'identitytpl: PopulateString' },
  { name: 'a parameter key with an inner wildcard', policy: 'path "a" { capabilities = ["read"] allowed_parameters = { "x*y" = [] } }', refused: 'path "a": allowed_parameters: parameter key "x*y" cannot contain non-tail wildcards', ref: 'policy: validateParameter' },
  { name: 'max_wrapping_ttl below min_wrapping_ttl', policy: 'path "a" { capabilities = ["read"] min_wrapping_ttl = "2h" max_wrapping_ttl = "1h" }', refused: 'max_wrapping_ttl cannot be less than min_wrapping_ttl', ref: 'policy: parsePaths' },
  { name: 'a control group without factors', policy: 'path "a" { capabilities = ["read"] control_group = { ttl = "1h" } }', refused: 'no control group factors provided', ref: 'policy: ControlGroupHCL' },
];

let n = 0;
for (const c of CASES) {
  test(`${c.refused === undefined ? 'Vault accepts' : 'Vault refuses'}: ${c.name} [${c.ref}]`, async () => {
    const name = `syntax-${++n}`;
    const res = await call('PUT', `sys/policies/acl/${name}`, { policy: c.policy });
    if (c.refused !== undefined) {
      assert.is(res.status, 400);
      assert.equal(res.body, { errors: [`failed to parse policy: ${c.refused}`] });
      assert.is((await call('GET', `sys/policies/acl/${name}`)).status, 404, 'nothing is stored');
      return;
    }
    assert.is(res.status, 204, JSON.stringify(res.body));
    assert.is((await call('GET', `sys/policies/acl/${name}`)).body.data.policy, c.policy);
    const token = (await call('POST', 'auth/token/create', { policies: [name], no_default_policy: true })).body.auth.client_token;
    for (const [path, caps] of Object.entries(c.grants ?? {})) {
      const got = await call('POST', 'sys/capabilities', { token, paths: [path] });
      assert.equal(got.body.data[path], caps, path);
    }
  });
}

test('root is refused after the text is parsed, as Vault\'s policy store does it', async () => {
  assert.equal((await call('PUT', 'sys/policies/acl/root', { policy: 'path "a" {' })).body, { errors: ['failed to parse policy: At 1:12: object expected closing RBRACE got: EOF'] });
  assert.equal((await call('PUT', 'sys/policies/acl/root', { policy: 'path "a" {}' })).body, { errors: ['cannot update root policy'] });
  assert.equal((await call('PUT', 'sys/policies/acl/x', { policy: '' })).body, { errors: ["'policy' parameter not supplied or empty"] });
});

test('a policy Vault cannot unquote (where Vault panics and answers nothing) is refused, never stored', async () => {
  const res = await call('PUT', 'sys/policies/acl/unquotable', { policy: 'path "\\400" { capabilities = ["read"] }' });
  assert.is(res.status, 400);
  assert.equal(res.body, { errors: ['failed to parse policy: unquote "\\400" err: invalid syntax'] });
  assert.is((await call('GET', 'sys/policies/acl/unquotable')).status, 404);
});

test.run();
