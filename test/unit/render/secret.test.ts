import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { renderYaml } from '../../../lib/render/secret.js';

const test = suite('lib/secret-formats');

test('YAML quotes every key and value, non-strings as JSON', () => {
  assert.is(renderYaml({ b: 'x: y', a: 1, c: { d: true } }), '"a": "1"\n"b": "x: y"\n"c": "{\\"d\\":true}"\n');
  assert.is(renderYaml({}), '');
});

test.run();
