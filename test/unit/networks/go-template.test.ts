import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderGoTemplate, renderListFormat } from '../../../src/cli/go-template.ts';

describe('--format Go templates', () => {
  const row = { ID: 'abc', Name: 'foo', IPAM: { Config: [{ Subnet: '10.4.1.0/24' }] }, Labels: { b: '2', a: '1' } };

  it('substitutes fields and nested fields', () => {
    assert.equal(renderGoTemplate('{{.Name}}\t{{ .ID }}', row), 'foo\tabc');
    assert.equal(renderGoTemplate('{{.IPAM.Config}}', row), '[map[Subnet:10.4.1.0/24]]');
    assert.equal(renderGoTemplate('{{.Labels}}', row), 'map[a:1 b:2]');
    assert.equal(renderGoTemplate('{{.Missing}}', row), '<no value>');
    assert.equal(renderGoTemplate('{{.Missing.Deeper}}', row), '<no value>');
    assert.equal(renderGoTemplate('plain text', row), 'plain text');
  });

  it('supports json of the whole value or a field', () => {
    assert.equal(renderGoTemplate('{{json .}}', { ID: 'a', Name: 'b' }), '{"ID":"a","Name":"b"}');
    assert.equal(renderGoTemplate('{{json .IPAM}}', row), '{"Config":[{"Subnet":"10.4.1.0/24"}]}');
    assert.equal(renderGoTemplate('{{.IPAM | json}}', row), '{"Config":[{"Subnet":"10.4.1.0/24"}]}');
  });

  // What Docker's docs and nerdctl's tests write (docker inspect -f, network inspect -f)
  const ctr = {
    Name: '/web',
    State: { Status: 'running', Pid: 42 },
    Config: { Labels: { 'com.example/x': 'y' }, Env: ['A=1', 'B=2'] },
    NetworkSettings: {
      IPAddress: '10.4.0.2',
      Ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }], '53/udp': null },
      Networks: { front: { IPAddress: '10.5.0.2', MacAddress: 'aa' }, back: { IPAddress: '10.6.0.2', MacAddress: 'bb' } },
    },
  };

  it('range over maps (in key order) and lists, with variables', () => {
    assert.equal(renderGoTemplate('{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}', ctr), '10.6.0.2 10.5.0.2 ');
    assert.equal(
      renderGoTemplate('{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}};{{end}}', ctr),
      'back=10.6.0.2;front=10.5.0.2;',
    );
    assert.equal(
      renderGoTemplate('{{range $p, $conf := .NetworkSettings.Ports}}{{$p}} -> {{(index $conf 0).HostPort}}{{end}}', {
        NetworkSettings: { Ports: { '80/tcp': [{ HostPort: '8080' }] } },
      }),
      '80/tcp -> 8080',
    );
    assert.equal(renderGoTemplate('{{range $i, $e := .Config.Env}}{{$i}}:{{$e}} {{end}}', ctr), '0:A=1 1:B=2 ');
    assert.equal(renderGoTemplate('{{range .IPAM.Config}}{{.Subnet}}{{end}}', row), '10.4.1.0/24');
    assert.equal(renderGoTemplate('{{range .Nope}}x{{else}}none{{end}}', row), 'none');
    assert.equal(renderGoTemplate('{{range .IPAM.Config}}{{$.Name}}{{end}}', row), 'foo');
  });

  it('index, if/else if/else, with, comparisons, len', () => {
    assert.equal(renderGoTemplate('{{index .Config.Labels "com.example/x"}}', ctr), 'y');
    assert.equal(renderGoTemplate('{{(index .IPAM.Config 0).Subnet}}', row), '10.4.1.0/24');
    assert.equal(renderGoTemplate('{{index .NetworkSettings.Networks "front" | json}}', ctr), '{"IPAddress":"10.5.0.2","MacAddress":"aa"}');
    assert.equal(renderGoTemplate('{{if eq .State.Status "running"}}up{{else}}down{{end}}', ctr), 'up');
    assert.equal(renderGoTemplate('{{if eq .State.Status "exited" "dead"}}a{{else if gt .State.Pid 1}}b{{else}}c{{end}}', ctr), 'b');
    assert.equal(renderGoTemplate('{{with .NetworkSettings}}{{.IPAddress}}{{end}}', ctr), '10.4.0.2');
    assert.equal(renderGoTemplate('{{with .Nope}}x{{else}}empty{{end}}', ctr), 'empty');
    assert.equal(renderGoTemplate('{{len .NetworkSettings.Networks}} {{len .Config.Env}}', ctr), '2 2');
    assert.equal(renderGoTemplate('{{if and .Name (not .Nope)}}yes{{end}}', ctr), 'yes');
  });

  it('functions of Go and of docker/cli: printf, join, split, lower, upper, title', () => {
    assert.equal(renderGoTemplate('{{printf "%s:%d" .Name .State.Pid}}', ctr), '/web:42');
    assert.equal(renderGoTemplate('{{printf "%-6s|" .State.Status}}', ctr), 'running|');
    assert.equal(renderGoTemplate('{{join .Config.Env ","}}', ctr), 'A=1,B=2');
    assert.equal(renderGoTemplate('{{index (split .V "/") 1}}', { V: 'a/b' }), 'b');
    assert.equal(renderGoTemplate('{{upper .State.Status}} {{lower "AB"}} {{title "hello world"}}', ctr), 'RUNNING ab Hello World');
    assert.equal(renderGoTemplate('{{$n := .Name}}{{$n}}', ctr), '/web');
    assert.equal(renderGoTemplate('{{/* a comment */}}x', ctr), 'x');
  });

  it('trims spaces at {{- and -}}', () => {
    assert.equal(renderGoTemplate('a  {{- .Name -}}  b', ctr), 'a/webb');
    assert.equal(renderGoTemplate('{{range .Config.Env -}}\n  {{.}}\n{{- end}}', ctr), 'A=1B=2');
  });

  it('refuses templates it cannot parse (usage, exit 2) and fails on bad execution (exit 1)', () => {
    for (const bad of ['{{.Name', '{{range .X}}', '{{end}}', '{{nope .X}}', '{{define "x"}}{{end}}', '{{.Name | }}']) {
      assert.throws(
        () => renderGoTemplate(bad, row),
        (e: Error & { exitCode?: number }) => {
          assert.match(e.message, /^template parsing error: /);
          assert.equal(e.exitCode, 2);
          return true;
        },
      );
    }
    assert.throws(
      () => renderGoTemplate('{{.Name.Sub}}', row),
      (e: Error & { exitCode?: number }) => {
        assert.match(e.message, /can't evaluate field Sub/);
        assert.equal(e.exitCode, 1);
        return true;
      },
    );
    assert.throws(() => renderGoTemplate('{{index .IPAM.Config 3}}', row), /index out of range/);
  });

  it("list formats as docker/cli's: \\t and \\n escapes, json, and 'table TEMPLATE' with a header row", () => {
    const rows = [
      { Name: 'bridge', Driver: 'bridge' },
      { Name: 'a-longer-name', Driver: 'macvlan' },
    ];
    const headers = { Name: 'NAME', Driver: 'DRIVER' };
    assert.deepEqual(renderListFormat('{{.Name}}\\t{{.Driver}}', rows, headers), ['bridge\tbridge', 'a-longer-name\tmacvlan']);
    assert.deepEqual(renderListFormat('json', rows.slice(0, 1), headers), ['{"Name":"bridge","Driver":"bridge"}']);
    assert.deepEqual(renderListFormat('table {{.Name}}\\t{{.Driver}}', rows, headers), [
      'NAME            DRIVER\nbridge          bridge\na-longer-name   macvlan',
    ]);
  });
});
