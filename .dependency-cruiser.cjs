// Import rules for the pipeline layout (README "Layout"); `npm test` runs them (depcruise).
// Layers, low to high: core -> io -> assets -> develop -> dataset -> engine -> pipelines -> server.
// page is browser-only and sees only core; the dashboard sees only core and the API types.
/** A rule: modules whose path matches `from` must not import modules whose path matches `to`. */
const forbid = (name, from, to, comment) => ({ name, severity: 'error', ...(comment ? { comment } : {}), from: { path: from }, to: { path: to } });

/** A rule: modules whose path matches `from` may import only modules matching one of `allowed`. */
const only = (name, from, allowed, comment) => ({ name, severity: 'error', ...(comment ? { comment } : {}), from: { path: from }, to: { pathNot: allowed } });

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'Imports flow one way.', from: {}, to: { circular: true } },
    only('core-is-pure', '^renderer/core/', ['^renderer/core/', 'node_modules/'], 'renderer/core is isomorphic maths: nothing of ours outside core, no Node built-ins.'),
    {
      name: 'core-no-node',
      severity: 'error',
      from: { path: '^renderer/core/' },
      to: { dependencyTypes: ['core'] },
    },
    only('page-only-core', '^renderer/page/', ['^renderer/(page|core)/', 'node_modules/'], 'Browser code imports only core (and Babylon).'),
    forbid('io-low', '^renderer/io/', '^renderer/(assets|develop|dataset|engine|pipelines|page)/'),
    forbid('assets-low', '^renderer/assets/', '^renderer/(develop|dataset|engine|pipelines|page)/'),
    forbid('develop-dataset-no-engine', '^renderer/(develop|dataset)/', '^(renderer/(engine|pipelines|page)/|server/|scripts/)', 'Developing pixels and writing datasets never drive the browser or the server.'),
    forbid('develop-below-dataset', '^renderer/develop/', '^renderer/dataset/'),
    {
      name: 'develop-no-writers',
      severity: 'error',
      comment: 'develop turns pixels into bytes (renderer/io/encoders.ts); renderer/dataset writes the files. Exception: develop/flow.ts writeFlow, until sequence.ts writes flow files through dataset.',
      from: { path: '^renderer/develop/', pathNot: '^renderer/develop/flow\\.ts$' },
      to: { path: '^renderer/io/(exr-write|image-io|fs-atomic|json-file|gltf-write)\\.ts$' },
    },
    {
      name: 'develop-no-fs',
      severity: 'error',
      comment: 'No file access in develop (same exception as develop-no-writers).',
      from: { path: '^renderer/develop/', pathNot: '^renderer/develop/flow\\.ts$' },
      to: { dependencyTypes: ['core'], path: '^(node:)?fs(/promises)?$' },
    },
    forbid('engine-no-pipelines', '^renderer/engine/', '^(renderer/(pipelines|dataset)/|server/|scripts/)'),
    forbid('renderer-no-server', '^renderer/', '^(server|scripts|test)/'),
    only('dashboard-only-core-and-api', '^server/public/', ['^server/public/', '^renderer/core/', '^server/api-types\\.ts$', 'node_modules/'], 'The dashboard is browser code: renderer/core and server/api-types only.'),
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
