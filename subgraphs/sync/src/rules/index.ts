/** The sync engine's pure decision core: types, field ownership, normalisation, per-patient plans, conflict resolutions. */
export * from './types';
export * from './ownership';
export * from './normalise';
export * from './plan';
export * from './resolve';
