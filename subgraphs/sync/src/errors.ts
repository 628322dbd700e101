/**
 * The sync subgraph's public error codes (GraphQL `extensions.code`), in one place. Messages
 * name ids, fields and what was expected, never a patient's values.
 */
import { GraphQLError } from 'graphql';

export enum SyncErrorCode {
  BadUserInput = 'BAD_USER_INPUT',
  NotFound = 'NOT_FOUND',
  ConflictAlreadyResolved = 'CONFLICT_ALREADY_RESOLVED',
  PatientNotFound = 'PATIENT_NOT_FOUND',
  /** The patient is being synced right now; retry shortly. */
  PatientBusy = 'PATIENT_BUSY',
}

export function syncError(code: SyncErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extensions } });
}
