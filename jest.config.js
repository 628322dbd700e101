/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/lib', '<rootDir>/gateway', '<rootDir>/subgraphs', '<rootDir>/schema', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // tsconfig's isolatedModules makes ts-jest transpile only; `npm run typecheck` checks types.
  transform: { '^.+\\.ts$': ['ts-jest', {}] },
  testTimeout: 60000,
  setupFiles: ['<rootDir>/test/setup-env.js'],
};
