/**
 * The connectors' front door: createConnector(name, settings, env) picks the kind's factory,
 * which validates the entry with the kind's own schema (a ConfigError naming
 * `connectors.<name>.<key>`, what was expected and what was found) and reads the secrets the
 * entry names from `env`. Each kind lives in its own file and knows only its vendor.
 */
import { ConfigError } from '../../../../lib/config';
import type { Connector, ConnectorKind } from './types';
import { CONNECTOR_KINDS } from './types';
import type { ConnectorDeps, ConnectorEnv, KindFactory } from './settings';
import { createWebhookConnector } from './webhook';
import { createSlackConnector } from './slack';
import { createTeamsConnector } from './teams';
import { createMailchimpConnector } from './mailchimp';
import { createTwilioConnector } from './twilio';
import { createJiraConnector } from './jira';
import { createAsanaConnector } from './asana';
import { createGa4Connector } from './ga4';
import { createMixpanelConnector } from './mixpanel';

export type { ConnectorDeps, ConnectorEnv } from './settings';
export { PHI_FIELDS, ANALYTICS_ATTRIBUTES, fieldsRefusedForAnalytics, isIdField, isPhiField } from './phi';
export { subscriberHash } from './mailchimp';
export { idempotencyLabel } from './jira';
export { ga4EventName } from './ga4';
export { mixpanelInsertId } from './mixpanel';
export * from './webhook-signature';

const factories: Record<ConnectorKind, KindFactory> = {
  webhook: createWebhookConnector,
  slack: createSlackConnector,
  teams: createTeamsConnector,
  mailchimp: createMailchimpConnector,
  twilio: createTwilioConnector,
  jira: createJiraConnector,
  asana: createAsanaConnector,
  ga4: createGa4Connector,
  mixpanel: createMixpanelConnector,
};

/**
 * Build the connector a configuration entry describes. Throws a ConfigError for an unknown kind,
 * invalid settings, a secret variable that is unset, or (analytics) a field that may be PHI.
 */
export function createConnector(name: string, settings: Record<string, unknown>, env: ConnectorEnv, deps: ConnectorDeps = {}): Connector {
  const kind = settings?.kind;
  const factory = typeof kind === 'string' && (CONNECTOR_KINDS as readonly string[]).includes(kind) ? factories[kind as ConnectorKind] : undefined;
  if (!factory) {
    const known = CONNECTOR_KINDS.map((k) => JSON.stringify(k)).join(', ');
    throw new ConfigError([`connectors.${name}.kind: expected one of ${known}, found ${kind === undefined ? 'nothing (unset)' : JSON.stringify(kind)}`]);
  }
  return factory(name, settings, env, deps);
}
