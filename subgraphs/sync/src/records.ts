/**
 * The adapters between the vendors' wire records and the rules' vendor-neutral PatientRecord:
 * a Semble patient and a HubSpot contact in, and a plan's field writes out as Semble's
 * `patientData` and HubSpot contact properties. Values pass through as they are; the rules
 * normalise before comparing.
 */
import type { ContactProperty, HubSpotContact } from '../../../lib/vendors/hubspot';
import type { SemblePatient } from '../../../lib/vendors/semble';
import type { FieldValues } from './rules/plan';
import type { PatientAddress, PatientRecord, SyncField } from './rules/types';
import type { SemblePatientData } from './clients';

/**
 * HubSpot has no standard date-of-birth property; the portal needs this custom one (the
 * emulator has it). Not in lib/vendors/hubspot.ts's ContactProperty union yet, hence the cast.
 */
export const DATE_OF_BIRTH_PROPERTY: ContactProperty = 'date_of_birth';

/** HubSpot's standard address properties, in PatientAddress order (line, city, postcode, country). */
const ADDRESS_PROPERTIES = ['address', 'city', 'zip', 'country'] as const satisfies readonly ContactProperty[];

/** The contact properties each synced field is kept in. */
const CONTACT_PROPERTIES_OF: Partial<Record<SyncField, readonly ContactProperty[]>> = {
  firstName: ['firstname'],
  lastName: ['lastname'],
  email: ['email'],
  phone: ['phone'],
  dateOfBirth: [DATE_OF_BIRTH_PROPERTY],
  address: ADDRESS_PROPERTIES,
  lifecycleStage: ['lifecyclestage'],
  ownerId: ['hubspot_owner_id'],
  marketingConsent: ['marketing_consent'],
};

/** What the sync reads of a contact. */
export const SYNC_CONTACT_PROPERTIES: readonly ContactProperty[] = [
  'semble_patient_id',
  'firstname',
  'lastname',
  'email',
  'phone',
  DATE_OF_BIRTH_PROPERTY,
  ...ADDRESS_PROPERTIES,
  'lifecyclestage',
  'hubspot_owner_id',
  'marketing_consent',
  'lastmodifieddate',
];

/** Read with their history (`propertiesWithHistory`), for per-field change times in last-write-wins. */
export const SYNC_CONTACT_HISTORY_PROPERTIES: readonly ContactProperty[] = [
  'firstname',
  'lastname',
  'email',
  'phone',
  DATE_OF_BIRTH_PROPERTY,
  ...ADDRESS_PROPERTIES,
];

/** The identifier Semble keeps the NHS number under. */
const NHS_NUMBER_NAME = 'NHS_UK';

export function sembleToRecord(patient: SemblePatient): PatientRecord {
  const phones = (patient.phones ?? []).map((phone) => phone.phoneNumber).filter((number): number is string => !!number);
  const address = patient.address;
  return {
    id: patient.id,
    firstName: patient.firstName,
    lastName: patient.lastName,
    email: patient.email,
    phone: phones[0] ?? null,
    dateOfBirth: patient.dob,
    address: address ? { line: address.address, city: address.city, postcode: address.postcode, country: address.country } : null,
    nhsNumber: patient.numbers?.find((number) => number.name === NHS_NUMBER_NAME)?.value ?? null,
    updatedAt: patient.updatedAt,
    otherPhones: phones.slice(1),
  };
}

function consent(value: string | null | undefined): boolean | null {
  return value === 'true' ? true : value === 'false' ? false : null;
}

/**
 * When each field last changed, from the contact's property history: the newest entry of each
 * of its properties, if that entry still holds the current value (a history that does not
 * explain the value is not trusted: the field falls back to the contact's last-modified date).
 */
function fieldChangeTimes(contact: HubSpotContact): PatientRecord['fieldUpdatedAt'] {
  const history = contact.propertiesWithHistory as Record<string, Array<{ value: string; timestamp: string }> | undefined> | undefined;
  if (!history) return undefined;
  const properties = contact.properties as Record<string, string | null | undefined>;
  const times: Partial<Record<SyncField, string>> = {};
  for (const [field, names] of Object.entries(CONTACT_PROPERTIES_OF) as Array<[SyncField, readonly ContactProperty[]]>) {
    let latest: number | null = null;
    for (const name of names) {
      const newest = history[name]?.[0];
      if (!newest || newest.value !== (properties[name] ?? '')) continue;
      const at = Date.parse(newest.timestamp);
      if (!Number.isNaN(at) && (latest === null || at > latest)) latest = at;
    }
    if (latest !== null) times[field] = new Date(latest).toISOString();
  }
  return times;
}

function contactAddress(properties: Record<string, string | null | undefined>): PatientRecord['address'] {
  const [line, city, postcode, country] = ADDRESS_PROPERTIES.map((name) => properties[name] ?? null);
  return { line: line ?? null, city: city ?? null, postcode: postcode ?? null, country: country ?? null };
}

/** A contact as the CRM side of a patient; null when it is not linked to a Semble patient. */
export function contactToRecord(contact: HubSpotContact): PatientRecord | null {
  const properties = contact.properties as Record<string, string | null | undefined>;
  const patientId = properties.semble_patient_id;
  if (!patientId) return null;
  const fieldUpdatedAt = fieldChangeTimes(contact);
  return {
    id: patientId,
    firstName: properties.firstname ?? null,
    lastName: properties.lastname ?? null,
    email: properties.email ?? null,
    phone: properties.phone ?? null,
    dateOfBirth: properties[DATE_OF_BIRTH_PROPERTY] ?? null,
    address: contactAddress(properties),
    lifecycleStage: properties.lifecyclestage ?? null,
    ownerId: properties.hubspot_owner_id ?? null,
    marketingConsent: consent(properties.marketing_consent),
    updatedAt: properties.lastmodifieddate ?? contact.updatedAt ?? null,
    ...(fieldUpdatedAt ? { fieldUpdatedAt } : {}),
  };
}

/** Fields written to the CRM: one property each, the address four. */
const WRITABLE_CONTACT_FIELDS: readonly SyncField[] = ['firstName', 'lastName', 'email', 'phone', 'dateOfBirth', 'address'];

/** A plan's CRM writes as contact properties (HubSpot stores text; null clears). */
export function toContactProperties(writes: FieldValues): Partial<Record<ContactProperty, string | null>> {
  const properties: Partial<Record<ContactProperty, string | null>> = {};
  for (const [field, value] of Object.entries(writes) as Array<[SyncField, unknown]>) {
    // Only shared fields are ever written; anything else would be a rules change this adapter does not know.
    if (!WRITABLE_CONTACT_FIELDS.includes(field)) throw new Error(`no HubSpot property for field ${field}`);
    if (field === 'address') {
      const address = (value ?? null) as PatientAddress | null;
      ADDRESS_PROPERTIES.forEach((name, index) => {
        const part = address ? [address.line, address.city, address.postcode, address.country][index] : null;
        properties[name] = part ?? null;
      });
      continue;
    }
    const [property] = CONTACT_PROPERTIES_OF[field] as readonly ContactProperty[];
    properties[property as ContactProperty] = value === null || value === undefined ? null : String(value);
  }
  return properties;
}

/** A plan's Semble writes as updatePatient's `patientData`. */
export function toSemblePatientData(writes: FieldValues): SemblePatientData {
  const data: SemblePatientData = {};
  for (const [field, raw] of Object.entries(writes) as Array<[SyncField, unknown]>) {
    const value = raw === null || raw === undefined ? null : String(raw);
    switch (field) {
      case 'email':
        data.email = value;
        break;
      case 'dateOfBirth':
        data.dob = value;
        break;
      // Semble cannot clear names or the phone through updatePatient; null is passed on so
      // Semble refuses it (SembleWriteRefusedError) rather than the value silently staying.
      case 'firstName':
        data.first = value as string;
        break;
      case 'lastName':
        data.last = value as string;
        break;
      case 'phone':
        data.phone = value as string;
        break;
      case 'address': {
        const address = (raw ?? null) as PatientAddress | null;
        data.address = address?.line ?? null;
        data.city = address?.city ?? null;
        data.postcode = address?.postcode ?? null;
        data.country = address?.country ?? null;
        break;
      }
      default:
        throw new Error(`no Semble input for field ${field}`);
    }
  }
  return data;
}
