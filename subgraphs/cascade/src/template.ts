/** Step templates: text with `{{field}}` placeholders, filled from the fields the connector may receive. */
import type { FieldValue } from './connectors/types';

const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}/g;

/** The field names a template uses. */
export function placeholdersOf(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((match) => match[1] as string);
}

/** The template with each placeholder replaced by its field's value ('' for null or absent). */
export function renderTemplate(template: string, fields: Readonly<Record<string, FieldValue>>): string {
  return template.replace(PLACEHOLDER, (_, name: string) => {
    const value = fields[name];
    return value === null || value === undefined ? '' : String(value);
  });
}
