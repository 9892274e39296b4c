/** Layer rules: commands -> cli -> app -> domain + interfaces <- adapters; wiring composes. */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      severity: 'error',
      comment: 'domain/ may import only domain/ and node built-ins without side effects',
      from: { path: '^src/domain/' },
      to: { pathNot: ['^src/domain/', '^(node:)?(crypto|net|path)$', 'node_modules/(ip-num|zod)/'], dependencyTypesNot: ['type-only'] },
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
    {
      name: 'hook-is-lean',
      severity: 'error',
      comment: 'the OCI hook must not load oclif or gRPC',
      from: { path: '^src/hook/' },
      to: { path: ['@oclif', '@grpc', '^src/adapters/containerd/', '^src/commands/', '^src/cli/'] },
    },
    {
      name: 'reserver-is-lean',
      severity: 'error',
      comment: 'the port holder is a long-lived process of its own: node built-ins, pure domain types and lowdb (its registry) only',
      from: { path: '^src/reserver/' },
      to: { pathNot: ['^src/reserver/', '^src/domain/', '^(node:)?[a-z_]+$', 'node_modules/(lowdb|steno)/', '^lowdb(/node)?$'] },
    },
    {
      name: 'dns-server-is-lean',
      severity: 'error',
      comment:
        'the DNS resolver is a long-lived process of its own (RSS matters, issue 16): node built-ins, dns-packet and the zod-free domain modules it needs',
      from: { path: '^src/dns-server/' },
      to: {
        pathNot: [
          '^src/dns-server/',
          '^src/domain/(dns/|errors[.]ts)',
          '^src/adapters/store/flock[.]ts$',
          '^(node:)?[a-z_]+$',
          'node_modules/(dns-packet|@leichtgewicht/ip-codec)/',
        ],
      },
    },
    {
      name: 'overlay-agent-is-lean',
      severity: 'error',
      comment: 'the overlay agent is a long-lived process per overlay network and host: no oclif, containerd client, execa or CLI code',
      from: { path: '^src/overlay-agent/' },
      to: { path: ['@oclif', 'execa', '^src/adapters/containerd/', '^src/commands/', '^src/cli/', '^src/wiring/', '^src/hook/'] },
    },
    {
      name: 'overlay-agent-process-is-lean',
      severity: 'error',
      comment: 'the hook starts overlay agents through this module: node built-ins and domain only',
      from: { path: '^src/adapters/overlay/agent-process[.]ts$' },
      to: { pathNot: ['^src/domain/', '^src/interfaces/', '^(node:)?[a-z_/]+$'] },
    },
    {
      name: 'fast-path-is-lean',
      severity: 'error',
      comment: 'run/create/start/rm/network ls/network inspect skip oclif (src/cli/fast-path.ts): what they load must not pull it in',
      from: {
        path: '^src/cli/(fast-path|flag-parser|container-actions|network-actions|global-flags|create-input|argv|command-argv|go-template|table)[.]ts$',
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
