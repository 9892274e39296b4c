/** Layer rules: commands -> app -> domain/ports <- adapters; wiring composes. */
module.exports = {
  forbidden: [
    { name: 'domain-is-pure', severity: 'error',
      comment: 'domain/ may import only domain/ and node built-ins without side effects',
      from: { path: '^src/domain/' },
      to: { pathNot: ['^src/domain/', '^(node:)?(crypto|net|path)$', 'node_modules/(ip-num|zod)/'], dependencyTypesNot: ['type-only'] } },
    { name: 'ports-are-interfaces', severity: 'error',
      from: { path: '^src/ports/' }, to: { pathNot: ['^src/ports/', '^src/domain/'] } },
    { name: 'app-uses-ports-not-adapters', severity: 'error',
      from: { path: '^src/app/' }, to: { path: ['^src/adapters/', '^src/commands/', '^src/cli/', '@oclif', '@grpc'] } },
    { name: 'adapters-do-not-call-up', severity: 'error',
      from: { path: '^src/adapters/' }, to: { path: ['^src/app/', '^src/commands/', '^src/cli/'] } },
    { name: 'commands-are-thin', severity: 'error',
      comment: 'commands reach adapters only through src/wiring',
      from: { path: '^src/commands/' }, to: { path: ['^src/adapters/(?!host/settings-loader)'] } },
    { name: 'hook-is-lean', severity: 'error',
      comment: 'the OCI hook must not load oclif or gRPC',
      from: { path: '^src/hook/' }, to: { path: ['@oclif', '@grpc', '^src/adapters/containerd/', '^src/commands/', '^src/cli/'] } },
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
