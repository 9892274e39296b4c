import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderGoTemplate } from '../../../src/cli/go-template.ts';

describe('--format Go templates', () => {
  const row = { ID: 'abc', Name: 'foo', IPAM: { Config: [{ Subnet: '10.4.1.0/24' }] }, Labels: { b: '2', a: '1' } };

  it('substitutes fields and nested fields', () => {
    assert.equal(renderGoTemplate('{{.Name}}\t{{ .ID }}', row), 'foo\tabc');
    assert.equal(renderGoTemplate('{{.IPAM.Config}}', row), '[map[Subnet:10.4.1.0/24]]');
    assert.equal(renderGoTemplate('{{.Labels}}', row), 'map[a:1 b:2]');
    assert.equal(renderGoTemplate('{{.Missing}}', row), '<no value>');
  });

  it('supports json of the whole value or a field', () => {
    assert.equal(renderGoTemplate('{{json .}}', { ID: 'a', Name: 'b' }), '{"ID":"a","Name":"b"}');
    assert.equal(renderGoTemplate('{{json .IPAM}}', row), '{"Config":[{"Subnet":"10.4.1.0/24"}]}');
  });

  it('refuses what it cannot render', () => {
    assert.throws(() => renderGoTemplate('{{range .X}}{{.}}{{end}}', row), {
      message: 'unsupported format template "{{range .X}}{{.}}{{end}}"',
    });
  });
});
