/** Layer rules: commands -> cli -> app -> domain + interfaces <- adapters; wiring composes. */

const BUILTINS = '^(node:)?[a-z_/]+$';
/** Never in a process started per container or living long: the CLI framework, gRPC and the CLI's own layers. */
const HEAVY = ['@oclif', '@grpc', '^src/adapters/containerd/', '^src/commands/', '^src/cli/'];
/** The on-demand processes' side of start-up (readiness pipe, single-instance lock, pid file): node built-ins only. */
const DAEMON_SELF = [
  '^src/adapters/host/(daemon-self|proc)[.]ts$',
  '^src/adapters/store/flock[.]ts$',
  '^src/adapters/host/perl-helper[.]ts$',
  '^src/adapters/host/request-env[.]ts$',
  '^src/domain/errors[.]ts$',
];

/**
 * The lean entry processes and the modules the hook starts them through. Each
 * gets a rule `<name>-is-lean`: with `allow`, it may import only its own files,
 * node built-ins and those; with `deny`, anything but those.
 */
const LEAN_ENTRIES = [
  { name: 'hook', from: '^src/hook/', deny: HEAVY, comment: 'the OCI hook must not load oclif or gRPC' },
  {
    name: 'hook-server',
    from: '^src/hook-server/',
    deny: [...HEAVY, 'execa', '^src/hook/main[.]ts$', '^src/(reserver|dns-server|overlay-agent)/'],
    comment:
      'the hook server runs the hooks of every container and lives between them: what the hook loads (src/hook/run-hook.ts), never oclif, gRPC, execa or the CLI, nor the hook process entry or another daemon',
  },
  {
    name: 'reserver',
    from: '^src/reserver/',
    allow: ['^src/domain/', 'node_modules/(lowdb|steno)/', '^lowdb(/node)?$', '^src/adapters/store/lowdb-files[.]ts$', ...DAEMON_SELF],
    comment: 'the port holder is a long-lived process of its own: node built-ins, pure domain types and lowdb (its registry) only',
  },
  {
    name: 'dns-server',
    from: '^src/dns-server/',
    allow: ['^src/domain/dns/', 'node_modules/(dns-packet|@leichtgewicht/ip-codec)/', ...DAEMON_SELF],
    comment:
      'the DNS resolver is a long-lived process of its own (RSS matters, issue 16): node built-ins, dns-packet and the zod-free domain modules it needs',
  },
  {
    name: 'overlay-agent',
    from: '^src/overlay-agent/',
    deny: [...HEAVY, 'execa', '^src/wiring/', '^src/hook/'],
    comment: 'the overlay agent is a long-lived process per overlay network and host: no oclif, containerd client, execa or CLI code',
  },
  {
    name: 'daemon-launchers',
    from: '^src/adapters/(host/(daemon-process|daemon-self|proc|process-port-reserver|hook-server-process|request-env)|dns/process-dns-server|overlay/agent-process|store/flock)[.]ts$',
    allow: [
      '^src/domain/',
      '^src/interfaces/',
      '^src/(reserver/protocol|overlay-agent/files)[.]ts$',
      '^src/adapters/host/daemon-process[.]ts$',
      ...DAEMON_SELF,
    ],
    comment: 'the hook starts the on-demand processes through these, and those processes load daemon-self: node built-ins and domain only',
  },
];

function leanRule({ name, from, allow, deny, comment }) {
  return {
    name: `${name}-is-lean`,
    severity: 'error',
    comment,
    from: { path: from },
    to: allow ? { pathNot: [from, ...allow, BUILTINS] } : { path: deny },
  };
}

module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      severity: 'error',
      comment: 'domain/ may import only domain/, node built-ins without side effects and pure libraries (ip-num, zod, @noble/hashes)',
      from: { path: '^src/domain/' },
      to: {
        pathNot: ['^src/domain/', '^(node:)?(crypto|net|path)$', 'node_modules/(ip-num|zod|@noble/hashes)/'],
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'interfaces-are-interfaces',
      severity: 'error',
      from: { path: '^src/interfaces/' },
      to: { pathNot: ['^src/interfaces/', '^src/domain/'] },
    },
    {
      name: 'app-uses-interfaces-not-adapters',
      severity: 'error',
      from: { path: '^src/app/' },
      to: { path: ['^src/adapters/', '^src/commands/', '^src/cli/', '@oclif', '@grpc'] },
    },
    {
      name: 'adapters-do-not-call-up',
      severity: 'error',
      from: { path: '^src/adapters/' },
      to: { path: ['^src/app/', '^src/commands/', '^src/cli/'] },
    },
    {
      name: 'commands-are-thin',
      severity: 'error',
      comment: 'commands reach adapters only through src/wiring',
      from: { path: '^src/commands/' },
      to: { path: ['^src/adapters/(?!host/settings-loader)'] },
    },
    ...LEAN_ENTRIES.map(leanRule),
    {
      name: 'fast-path-is-lean',
      severity: 'error',
      comment: 'run/create/start/rm/network ls/network inspect skip oclif (src/cli/fast-path.ts): what they load must not pull it in',
      from: {
        path: '^src/cli/(fast-main|fast-path|cached-script|flag-parser|container-actions|network-actions|global-flags|create-input|argv|command-argv|go-template|table)[.]ts$',
      },
      to: { path: ['@oclif', '^src/commands/', '^src/cli/(base-command|create-flags)[.]ts$'] },
    },
    {
      name: 'zod-only-via-domain-zod',
      severity: 'error',
      comment: 'src/domain/zod.ts is the one import of zod: zod/mini with English messages; classic zod adds ~530 KB to each bundle',
      from: { path: '^src/', pathNot: '^src/domain/zod\\.ts$' },
      to: { path: 'node_modules/zod/' },
    },
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
