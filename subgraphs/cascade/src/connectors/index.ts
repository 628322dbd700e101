/**
 * The connectors' front door: createConnector(name, settings, env) picks the kind's factory,
 * which validates the entry with the kind's own schema (a ConfigError naming
 * `connectors.<name>.<key>`, what was expected and what was found) and reads the secrets the
 * entry names from `env`. Each kind lives in its own file and knows only its vendor.
 */
import { ConfigError } from '../../../../lib/config';
import type { z } from 'zod';
import type { Connector, ConnectorFactory, ConnectorKind } from './types';
import { assertAnalyticsFields } from './phi';
import { CONNECTOR_KINDS } from './types';
import { parseSettings } from './settings';
import type { ConnectorDeps, ConnectorEnv, KindFactory } from './settings';
import { createWebhookConnector, webhookSettingsSchema } from './webhook';
import { createSlackConnector, slackSettingsSchema } from './slack';
import { createTeamsConnector, teamsSettingsSchema } from './teams';
import { createMailchimpConnector, mailchimpSettingsSchema } from './mailchimp';
import { createTwilioConnector, twilioSettingsSchema } from './twilio';
import { createJiraConnector, jiraSettingsSchema } from './jira';
import { createAsanaConnector, asanaSettingsSchema } from './asana';
import { createGa4Connector, ga4SettingsSchema } from './ga4';
import { createMixpanelConnector, mixpanelSettingsSchema } from './mixpanel';

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
 * Each kind's settings schema (the base of types.ts plus the kind's own keys, unknown keys
 * refused), for a configuration loader that wants to validate entries without building them.
 * createConnector also checks what a schema cannot: secrets set, listed fields, the PHI rule.
 */
export const connectorSettingsSchemas = {
  webhook: webhookSettingsSchema,
  slack: slackSettingsSchema,
  teams: teamsSettingsSchema,
  mailchimp: mailchimpSettingsSchema,
  twilio: twilioSettingsSchema,
  jira: jiraSettingsSchema,
  asana: asanaSettingsSchema,
  ga4: ga4SettingsSchema,
  mixpanel: mixpanelSettingsSchema,
} as const satisfies Record<ConnectorKind, unknown>;

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
  if (settings.enabled === false) return disabledConnector(name, kind as ConnectorKind, settings);
  return factory(name, settings, env, deps);
}

/** createConnector as the engine's ConnectorFactory. */
export const connectorFactory: ConnectorFactory = (name, settings, env) => createConnector(name, settings, env);

/**
 * An entry switched off: its settings are still checked (a typo should not wait until it is
 * switched on; the PHI rule always holds), its secrets need not be set, and it sends nothing.
 * The engine records its steps as skipped and should not call send; if it does, the answer is
 * `failed`.
 */
function disabledConnector(name: string, kind: ConnectorKind, settings: Record<string, unknown>): Connector {
  const parsed = parseSettings(connectorSettingsSchemas[kind] as z.ZodType<{ fields: string[] }>, name, settings);
  if (kind === 'ga4' || kind === 'mixpanel') assertAnalyticsFields(name, parsed.fields);
  return {
    name,
    kind,
    fields: parsed.fields,
    send: async () => ({ status: 'failed', reason: `${kind} "${name}" is disabled` }),
  };
}
