/**
 * CSV of exported items (RFC 4180): one column per leaf of the item's selection, named by its
 * dotted response path (`crmContact.email`); a list (of objects or of scalars) is one cell holding
 * its JSON, since a row cannot hold a variable number of columns; null, and anything under a null
 * object, is an empty cell. Fields are quoted when they hold a comma, a quote, CR or LF, quotes
 * doubled; records end with CRLF.
 *
 * The quoting is written here rather than taken from a library: it is the four lines of
 * `csvField`, applied one row at a time as the export streams, and a library would add a stream
 * wrapper and a dependency for nothing more.
 */
import { Kind, getNamedType, getNullableType, isListType, isObjectType } from 'graphql';
import type { FragmentDefinitionNode, GraphQLObjectType, GraphQLOutputType, SelectionSetNode } from 'graphql';

/** One column: its header and the response path it reads. */
export interface CsvColumn {
  header: string;
  path: string[];
}

/**
 * The columns of a selection on `type`, in the order the selection names them; fragments are
 * merged in place, a path named twice is one column.
 */
export function csvColumns(type: GraphQLObjectType, selection: SelectionSetNode, fragments: Record<string, FragmentDefinitionNode>): CsvColumn[] {
  const columns = new Map<string, CsvColumn>();
  const walk = (parent: GraphQLObjectType, set: SelectionSetNode, prefix: string[]) => {
    for (const node of set.selections) {
      if (node.kind === Kind.INLINE_FRAGMENT) {
        walk(parent, node.selectionSet, prefix);
        continue;
      }
      if (node.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments[node.name.value];
        if (fragment) walk(parent, fragment.selectionSet, prefix);
        continue;
      }
      const path = [...prefix, node.alias?.value ?? node.name.value];
      const fieldType: GraphQLOutputType | undefined = node.name.value === '__typename' ? undefined : parent.getFields()[node.name.value]?.type;
      const named = fieldType ? getNamedType(fieldType) : undefined;
      // A list is one cell (its JSON); so is a field of an abstract type, whose leaves vary by object.
      if (node.selectionSet && fieldType && !isListType(getNullableType(fieldType)) && isObjectType(named)) {
        walk(named, node.selectionSet, path);
        continue;
      }
      const header = path.join('.');
      if (!columns.has(header)) columns.set(header, { header, path });
    }
  };
  walk(type, selection, []);
  return [...columns.values()];
}

/** One field, quoted when it must be. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** The cell of `value`: strings as they are, other scalars as JSON prints them, lists and objects as JSON. */
function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/** The header record. */
export function csvHeader(columns: CsvColumn[]): string {
  return `${columns.map((c) => csvField(c.header)).join(',')}\r\n`;
}

/** One item as a record. */
export function csvRow(columns: CsvColumn[], item: unknown): string {
  const values = columns.map((column) => {
    let value: unknown = item;
    for (const key of column.path) value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
    return csvField(cell(value));
  });
  return `${values.join(',')}\r\n`;
}
