/**
 * Marketing consent, as the CRM records it: the HubSpot contact whose `semble_patient_id` is the
 * patient's, property `marketing_consent` ("true" is consent; anything else, unset included, is
 * not). The CRM owns consent (domain.md); Semble's promotionalMarketing flag is not consulted.
 */
import type { HubSpotClient } from '../../../lib/vendors/hubspot';

/** granted / denied, or missing when the CRM has no contact for the patient (yet: the sync creates it). */
export type ConsentAnswer = 'granted' | 'denied' | 'missing';

export type ConsentLookup = (patientId: string) => Promise<ConsentAnswer>;

export function createHubSpotConsentLookup(hubspot: Pick<HubSpotClient, 'getContact'>): ConsentLookup {
  return async (patientId) => {
    const contact = await hubspot.getContact(patientId, ['marketing_consent'], 'semble_patient_id');
    if (!contact) return 'missing';
    return String(contact.properties.marketing_consent ?? '').toLowerCase() === 'true' ? 'granted' : 'denied';
  };
}
