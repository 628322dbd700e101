/**
 * What the supergraph says a caller needs to see each type and field: Federation's
 * `@authenticated` and `@requiresScopes(scopes: [[…]])` (any one inner list, all of its scopes),
 * composed from the subgraphs' schemas. `@policy` names decisions this gateway does not make, so
 * a field under it is never shown (fail closed).
 */
import { Kind, parse } from 'graphql';
import type { ConstDirectiveNode, ConstValueNode, DocumentNode } from 'graphql';

export interface Requirement {
  /** Only an authenticated caller (every caller of a gateway with AUTH_MODE jwt/oidc is). */
  authenticated: boolean;
  /** Any one of these lists, every scope in it; undefined: no scope needed. */
  scopes?: string[][];
  /** Under `@policy`: nobody. */
  never?: boolean;
}

export interface AuthorizationRules {
  /** Nothing in the supergraph is restricted. */
  readonly empty: boolean;
  field(type: string, field: string): Requirement | undefined;
  type(type: string): Requirement | undefined;
}

const SPECS = { requiresScopes: 'https://specs.apollo.dev/requiresScopes/', authenticated: 'https://specs.apollo.dev/authenticated/', policy: 'https://specs.apollo.dev/policy/' };

/** The names the supergraph gives the three directives (a `@link(as:)` may rename them). */
function directiveNames(document: DocumentNode): Record<keyof typeof SPECS, string> {
  const names = { requiresScopes: 'requiresScopes', authenticated: 'authenticated', policy: 'policy' };
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.SCHEMA_DEFINITION && definition.kind !== Kind.SCHEMA_EXTENSION) continue;
    for (const link of definition.directives ?? []) {
      if (link.name.value !== 'link') continue;
      const url = stringArg(link, 'url');
      const as = stringArg(link, 'as');
      for (const [key, prefix] of Object.entries(SPECS) as Array<[keyof typeof SPECS, string]>) {
        if (url?.startsWith(prefix) && as) names[key] = as;
      }
    }
  }
  return names;
}

function stringArg(directive: ConstDirectiveNode, name: string): string | undefined {
  const value = directive.arguments?.find((arg) => arg.name.value === name)?.value;
  return value?.kind === Kind.STRING ? value.value : undefined;
}

function scopeLists(value: ConstValueNode | undefined): string[][] {
  if (value?.kind !== Kind.LIST) return [];
  return value.values.map((inner) => (inner.kind === Kind.LIST ? inner.values.flatMap((scope) => (scope.kind === Kind.STRING ? [scope.value] : [])) : []));
}

function requirementOf(directives: readonly ConstDirectiveNode[] | undefined, names: Record<keyof typeof SPECS, string>): Requirement | undefined {
  let requirement: Requirement | undefined;
  for (const directive of directives ?? []) {
    const name = directive.name.value;
    if (name === names.authenticated) requirement = { ...requirement, authenticated: true };
    if (name === names.requiresScopes) {
      const lists = scopeLists(directive.arguments?.find((arg) => arg.name.value === 'scopes')?.value);
      requirement = { authenticated: true, ...requirement, scopes: [...(requirement?.scopes ?? []), ...lists] };
    }
    if (name === names.policy) requirement = { authenticated: true, ...requirement, never: true };
  }
  return requirement;
}

export function readAuthorizationRules(supergraphSdl: string): AuthorizationRules {
  const document = parse(supergraphSdl);
  const names = directiveNames(document);
  const types = new Map<string, Requirement>();
  const fields = new Map<string, Requirement>();
  for (const definition of document.definitions) {
    if (!('name' in definition) || !definition.name || !('directives' in definition)) continue;
    const typeName = definition.name.value;
    const own = requirementOf(definition.directives as readonly ConstDirectiveNode[] | undefined, names);
    if (own) types.set(typeName, own);
    if (definition.kind === Kind.OBJECT_TYPE_DEFINITION || definition.kind === Kind.INTERFACE_TYPE_DEFINITION) {
      for (const field of definition.fields ?? []) {
        const requirement = requirementOf(field.directives, names);
        if (requirement) fields.set(`${typeName}.${field.name.value}`, requirement);
      }
    }
  }
  return {
    empty: types.size === 0 && fields.size === 0,
    field: (type, field) => fields.get(`${type}.${field}`),
    type: (type) => types.get(type),
  };
}

/** Who is asking, as authorisation sees it. */
export interface Caller {
  /** False only for the anonymous caller of a gateway without authentication (AUTH_MODE=none). */
  authenticated: boolean;
  scopes: ReadonlySet<string>;
}

/** Whether `caller` meets `requirement`. */
export function meets(requirement: Requirement | undefined, caller: Caller): boolean {
  if (!requirement) return true;
  if (requirement.never) return false;
  if (requirement.authenticated && !caller.authenticated) return false;
  const { scopes } = caller;
  if (requirement.scopes && requirement.scopes.length > 0) return requirement.scopes.some((all) => all.every((scope) => scopes.has(scope)));
  return true;
}
