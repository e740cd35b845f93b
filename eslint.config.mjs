// Type-aware lint: the rules that catch real Temporal bugs (a floating promise in a workflow is a
// lost activity result; a value import of activities drags Node code into the workflow bundle),
// and import cycles anywhere (a cycle hands one module the other half-initialised).
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

// Every Node built-in by both names (`fs`, `node:fs`, `fs/promises`, ...); a `node:*` pattern
// catches the prefix-only ones (`node:test`, `node:sqlite`) that builtinModules leaves out.
const nodeBuiltins = [...new Set(builtinModules.flatMap((m) => (m.startsWith('node:') ? [m] : [m, `node:${m}`])))];
// Node-only code (folders, and src/config.ts): the workflow may know its types, never its values.
const nodeOnly = [
  'activities',
  'artifacts',
  'client',
  'config',
  'emulators',
  'media',
  'providers',
  'support',
  'worker',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.vidflow/**', 'output_videos/**', 'bin/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's test()/describe() return promises the runner itself tracks.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
    },
  },
  {
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js', '.mjs'],
      'import-x/resolver-next': [importX.createNodeResolver({ extensions: ['.ts', '.js', '.json'] })],
    },
    // Type-only imports are erased, so they never form a runtime cycle and are not counted.
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    // Workflow code and what it imports from shared/ are bundled into Temporal's deterministic
    // sandbox: no Node built-ins (the bundle refuses them), no value from Node-only folders, no
    // clock, no randomness.
    files: ['src/workflows/**/*.ts', 'src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({
            name,
            message: 'No Node built-ins in code bundled into the workflow.',
          })),
          patterns: [
            {
              group: ['node:*', ...nodeBuiltins.filter((n) => n.startsWith('node:')).map((n) => `!${n}`)],
              message: 'No Node built-ins in code bundled into the workflow.',
            },
            {
              group: nodeOnly.flatMap((f) => [`**/${f}`, `**/${f}/**`]),
              allowTypeImports: true,
              message: 'Node-only code: import it by type only (activities through proxyActivities).',
            },
            {
              group: ['**/shared/schemas', './schemas'],
              allowTypeImports: true,
              message:
                'shared/schemas builds every zod schema when evaluated, once per run in the worker: import types from it, values from shared/define-schemas, and schemas through workflows/validation.',
            },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Non-deterministic in workflows.' },
        { object: 'Date', property: 'now', message: 'Use workflow time only through Temporal APIs.' },
      ],
    },
  },
  {
    // Stand-in activities must be async to match the real ones, even when they only throw.
    files: ['test/**/*.ts', 'scripts/**/*.ts'],
    rules: { '@typescript-eslint/require-await': 'off' },
  },
  { files: ['**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  prettier,
);
