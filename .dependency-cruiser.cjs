// Import rules for the pipeline layout (README "Layout"); `npm test` runs them (depcruise).
// Layers, low to high: core -> io -> assets -> develop -> dataset -> engine -> pipelines -> server.
// page is browser-only and sees only core; the dashboard sees only core and the API types.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'Imports flow one way.', from: {}, to: { circular: true } },
    {
      name: 'core-is-pure',
      comment: 'renderer/core is isomorphic maths: nothing of ours outside core, no Node built-ins.',
      severity: 'error',
      from: { path: '^renderer/core/' },
      to: { pathNot: ['^renderer/core/', 'node_modules/'] },
    },
    {
      name: 'core-no-node',
      severity: 'error',
      from: { path: '^renderer/core/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'page-only-core',
      comment: 'Browser code imports only core (and Babylon).',
      severity: 'error',
      from: { path: '^renderer/page/' },
      to: { pathNot: ['^renderer/(page|core)/', 'node_modules/'] },
    },
    {
      name: 'io-low',
      severity: 'error',
      from: { path: '^renderer/io/' },
      to: { path: '^renderer/(assets|develop|dataset|engine|pipelines|page)/' },
    },
    {
      name: 'assets-low',
      severity: 'error',
      from: { path: '^renderer/assets/' },
      to: { path: '^renderer/(develop|dataset|engine|pipelines|page)/' },
    },
    {
      name: 'develop-dataset-no-engine',
      comment: 'Developing pixels and writing datasets never drive the browser or the server.',
      severity: 'error',
      from: { path: '^renderer/(develop|dataset)/' },
      to: { path: '^(renderer/(engine|pipelines|page)/|server/|scripts/)' },
    },
    {
      name: 'develop-below-dataset',
      severity: 'error',
      from: { path: '^renderer/develop/' },
      to: { path: '^renderer/dataset/' },
    },
    {
      name: 'engine-no-pipelines',
      severity: 'error',
      from: { path: '^renderer/engine/' },
      to: { path: '^(renderer/(pipelines|dataset)/|server/|scripts/)' },
    },
    {
      name: 'renderer-no-server',
      severity: 'error',
      from: { path: '^renderer/' },
      to: { path: '^(server|scripts|test)/' },
    },
    {
      name: 'dashboard-only-core-and-api',
      comment: 'The dashboard is browser code: renderer/core and server/api-types only.',
      severity: 'error',
      from: { path: '^server/public/' },
      to: { pathNot: ['^server/public/', '^renderer/core/', '^server/api-types\\.ts$', 'node_modules/'] },
    },
    {
      name: 'server-not-dashboard',
      comment: 'Node code does not import the dashboard\'s browser modules.',
      severity: 'error',
      from: { path: '^(server|renderer|scripts)/', pathNot: '^server/public/' },
      to: { path: '^server/public/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(node_modules|output)/' },
  },
};
