/** Queries the benchmarks share: the README's patient overview, for 500 patients. */
export const OVERVIEW = `query PatientOverview { patients(first: 500) { totalCount pageInfo { hasNextPage endCursor } nodes {
  id fullName dateOfBirth email nhsNumber phones { number e164 } dataQuality { score issues route }
  appointments { id start end status practitioner { fullName } calendarEvent { id status } }
  invoices { id total outstanding payments { id status amountMinor currency } }
  crmContact { id lifecycleStage marketingConsent } deals { id stage amount }
  payments { id provider status amountMinor currency } subscriptions { id status plan } } } }`;
