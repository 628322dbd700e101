/**
 * The crm subgraph: CrmContact and Deal from HubSpot, and the Patient fields that reach them
 * (`crmContact`, `deals`) through the `semble_patient_id` property. No I/O at import time.
 */
import fs from 'node:fs';
import { GraphQLError, parse } from 'graphql';
import type { DocumentNode } from 'graphql';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { fromRoot } from '../../../lib/root';
import { startSubgraph } from '../../../lib/subgraph';
import type { RunningSubgraph } from '../../../lib/subgraph';
import { createHubSpotClient } from '../../../lib/vendors/hubspot';
import type { HubSpotClient } from '../../../lib/vendors/hubspot';
import type { CrmConfig } from './config';
import { CONTACT_PROPERTIES, createLoaders } from './loaders';
import type { CrmLoaders } from './loaders';
import { toCrmContact, toDeal } from './mapping';
import type { CrmContactModel, DealModel } from './mapping';

export const name = 'crm';

export interface CrmContext {
  client: HubSpotClient;
  loaders: CrmLoaders;
}

export function loadTypeDefs(): DocumentNode {
  return parse(fs.readFileSync(fromRoot('subgraphs/crm/schema.graphql'), 'utf8'));
}

/** Longest address RFC 5321 allows; anything longer cannot match a contact. */
const MAX_EMAIL_LENGTH = 254;

/**
 * Email as HubSpot matches it: trimmed and lower-cased. Never echoes the value back (PHI).
 * Provider-specific normalisation (dots, plus-addressing) is deliberately not applied.
 */
export function normaliseEmail(email: string): string {
  const normalised = email.trim().toLowerCase();
  const problem =
    normalised === '' ? 'an empty string' : !normalised.includes('@') ? "a string without '@'" : normalised.length > MAX_EMAIL_LENGTH ? `a string longer than ${MAX_EMAIL_LENGTH} characters` : undefined;
  if (problem) {
    throw new GraphQLError(`email: expected an email address, got ${problem}`, {
      extensions: { code: 'BAD_USER_INPUT', argumentName: 'email', expected: 'an email address' },
    });
  }
  return normalised;
}

interface PatientRepresentation {
  id: string;
}

export const resolvers: GraphQLResolverMap<CrmContext> = {
  Query: {
    async crmContactByEmail(_: unknown, args: { email: string }, { client }: CrmContext): Promise<CrmContactModel | null> {
      const email = normaliseEmail(args.email);
      // Email is unique in a real portal; should two contacts share one, the oldest (lowest id) wins, deterministically.
      const page = await client.searchContacts({
        filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: email }] }],
        properties: CONTACT_PROPERTIES,
        limit: 1,
        sorts: [{ propertyName: 'hs_object_id', direction: 'ASCENDING' }],
      });
      const record = page.results[0];
      return record ? toCrmContact(record) : null;
    },
  },
  Patient: {
    async crmContact(patient: PatientRepresentation, _: unknown, { loaders }: CrmContext): Promise<CrmContactModel | null> {
      const record = await loaders.contactByPatientId.load(String(patient.id));
      return record ? toCrmContact(record) : null;
    },
    async deals(patient: PatientRepresentation, _: unknown, { loaders }: CrmContext): Promise<DealModel[]> {
      return (await loaders.dealsByPatientId.load(String(patient.id))).map(toDeal);
    },
  },
  CrmContact: {
    // An id HubSpot does not know resolves to null, as federation expects of a missing entity.
    async __resolveReference(reference: { id: string }, { loaders }: CrmContext): Promise<CrmContactModel | null> {
      const record = await loaders.contactById.load(String(reference.id));
      return record ? toCrmContact(record) : null;
    },
    patient(contact: CrmContactModel) {
      return contact.sembleId ? { __typename: 'Patient', id: contact.sembleId } : null;
    },
  },
  Deal: {
    async __resolveReference(reference: { id: string }, { loaders }: CrmContext): Promise<DealModel | null> {
      const record = await loaders.dealById.load(String(reference.id));
      return record ? toDeal(record) : null;
    },
  },
};

export async function createServer(config: CrmConfig): Promise<RunningSubgraph> {
  return startSubgraph<CrmContext>({
    name,
    typeDefs: loadTypeDefs(),
    resolvers,
    context: () => {
      const client = createHubSpotClient({ baseUrl: config.hubspotBaseUrl, token: config.hubspotToken, timeoutMs: config.timeoutMs });
      return { client, loaders: createLoaders(client) };
    },
    port: config.port,
    internalTokenSecret: config.internalTokenSecret,
    host: config.host,
  });
}
