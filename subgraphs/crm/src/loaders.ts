/**
 * The crm subgraph's DataLoaders, created per request. Batching bounds: a page of N patients costs
 * ⌈N/100⌉ contact batch reads (by `semble_patient_id`) and ⌈N/100⌉ deal searches (IN over ≤ 100
 * patient ids, plus a page per further 200 deals) – never one call per patient.
 */
import DataLoader from 'dataloader';
import { HUBSPOT_BATCH_LIMIT, HUBSPOT_IN_VALUES_LIMIT, HUBSPOT_SEARCH_LIMIT } from '../../../lib/vendors/hubspot';
import type { ContactProperty, DealProperty, HubSpotClient, HubSpotContact, HubSpotDeal } from '../../../lib/vendors/hubspot';

/** Everything the schema can show of a contact. */
export const CONTACT_PROPERTIES: readonly ContactProperty[] = [
  'email',
  'firstname',
  'lastname',
  'phone',
  'lifecyclestage',
  'hubspot_owner_id',
  'marketing_consent',
  'semble_patient_id',
  'lastmodifieddate',
  'hs_object_id',
];

/** Everything the schema can show of a deal. */
export const DEAL_PROPERTIES: readonly DealProperty[] = [
  'dealname',
  'amount',
  'dealstage',
  'pipeline',
  'closedate',
  'hs_lastmodifieddate',
  'semble_patient_id',
  'hs_object_id',
];

export interface CrmLoaders {
  /** Contact by HubSpot id; null when HubSpot has none. */
  contactById: DataLoader<string, HubSpotContact | null>;
  /** Contact by Semble patient id (`semble_patient_id`); null when the patient is not in the CRM. */
  contactByPatientId: DataLoader<string, HubSpotContact | null>;
  /** Deal by HubSpot id; null when HubSpot has none. */
  dealById: DataLoader<string, HubSpotDeal | null>;
  /** The deals recorded against a Semble patient id, in HubSpot id order; [] when none. */
  dealsByPatientId: DataLoader<string, HubSpotDeal[]>;
}

/** Records back in key order, matched on `keyOf`; a key without a record gets null. */
function inKeyOrder<T>(keys: readonly string[], records: readonly T[], keyOf: (record: T) => string | null | undefined): Array<T | null> {
  const byKey = new Map<string, T>();
  for (const record of records) {
    const key = keyOf(record);
    if (key !== null && key !== undefined && !byKey.has(key)) byKey.set(key, record);
  }
  return keys.map((key) => byKey.get(key) ?? null);
}

/** All deals for up to 100 patient ids, following search paging. */
async function searchDealsForPatients(client: HubSpotClient, patientIds: readonly string[]): Promise<HubSpotDeal[]> {
  const deals: HubSpotDeal[] = [];
  let after: string | undefined;
  do {
    const page = await client.searchDeals({
      filterGroups: [{ filters: [{ propertyName: 'semble_patient_id', operator: 'IN', values: [...patientIds] }] }],
      properties: DEAL_PROPERTIES,
      limit: HUBSPOT_SEARCH_LIMIT,
      // A stable order makes `after` paging safe and the result deterministic.
      sorts: [{ propertyName: 'hs_object_id', direction: 'ASCENDING' }],
      after,
    });
    deals.push(...page.results);
    after = page.paging?.next?.after;
  } while (after !== undefined);
  return deals;
}

export function createLoaders(client: HubSpotClient): CrmLoaders {
  // maxBatchSize matches HubSpot's limits, so one DataLoader batch is one HubSpot call and a
  // failure only fails the keys of that call.
  return {
    contactById: new DataLoader(
      async (ids) => inKeyOrder(ids, await client.batchReadContacts(ids, CONTACT_PROPERTIES), (c) => c.id),
      { maxBatchSize: HUBSPOT_BATCH_LIMIT },
    ),
    contactByPatientId: new DataLoader(
      async (patientIds) =>
        inKeyOrder(
          patientIds,
          await client.batchReadContacts(patientIds, CONTACT_PROPERTIES, 'semble_patient_id'),
          (c) => c.properties.semble_patient_id,
        ),
      { maxBatchSize: HUBSPOT_BATCH_LIMIT },
    ),
    dealById: new DataLoader(
      async (ids) => inKeyOrder(ids, await client.batchReadDeals(ids, DEAL_PROPERTIES), (d) => d.id),
      { maxBatchSize: HUBSPOT_BATCH_LIMIT },
    ),
    dealsByPatientId: new DataLoader(
      async (patientIds) => {
        const byPatient = new Map<string, HubSpotDeal[]>(patientIds.map((id) => [id, []]));
        for (const deal of await searchDealsForPatients(client, patientIds)) {
          byPatient.get(deal.properties.semble_patient_id ?? '')?.push(deal);
        }
        return patientIds.map((id) => byPatient.get(id) ?? []);
      },
      { maxBatchSize: HUBSPOT_IN_VALUES_LIMIT },
    ),
  };
}
