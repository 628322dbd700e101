/**
 * Operation limits, checked before any planning, for HTTP and WebSocket alike, each with a
 * configurable maximum and an error that names the limit and the value found
 * (`extensions: { code: OPERATION_LIMIT_EXCEEDED, limit, maximum, found }`):
 *
 *   tokens          graphql-js's own parser (`maxTokens`): a huge document is not even parsed
 *   depth, aliases, directives   GraphQL Armor's validation rules (fragments counted once each)
 *   rootFields, fragmentSpreads  small validation rules here (no library counts these)
 *   cost            graphql-query-complexity with the estimator below: a list multiplies what is
 *                   under it by its `first`/`last`/`limit` argument, or by `defaultListSize`; the
 *                   lists inside a Relay connection (`nodes`, `edges` of a `…Connection`/`…Edge`
 *                   type) are counted by the connection's own `first`, not again
 *   variables       how many, and how long a string value may be (checked before parsing)
 */
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { GraphQLError, Kind, getNamedType, getNullableType, isListType } from 'graphql';
import type { DocumentNode, GraphQLSchema, ValidationContext, ValidationRule } from 'graphql';
import { getComplexity } from 'graphql-query-complexity';
import type { ComplexityEstimator } from 'graphql-query-complexity';
import { z } from 'zod';

export const LIMIT_CODE = 'OPERATION_LIMIT_EXCEEDED';

export const limitsConfigSchema = z.object({
  /** Lexical tokens in a document. @default 5000 */
  maxTokens: z.number().int().positive().default(5000),
  /** Nesting of selections (a fragment spread counts as one level). @default 12 */
  maxDepth: z.number().int().positive().default(12),
  /** Aliased fields in an operation. @default 50 */
  maxAliases: z.number().int().min(0).default(50),
  /** Directives in an operation. @default 50 */
  maxDirectives: z.number().int().min(0).default(50),
  /** Fields at the root of an operation. @default 20 */
  maxRootFields: z.number().int().positive().default(20),
  /** Fragment spreads in a document. @default 100 */
  maxFragmentSpreads: z.number().int().min(0).default(100),
  /** The operation's estimated cost (see the module comment). @default 1000000 */
  maxCost: z.number().int().positive().default(1_000_000),
  /** What a list without a size argument is counted as. @default 10 */
  defaultListSize: z.number().int().positive().default(10),
  /** Variables in a request. @default 100 */
  maxVariables: z.number().int().min(0).default(100),
  /** Characters in any string a variable holds (at any depth). @default 10000 */
  maxVariableStringLength: z.number().int().positive().default(10_000),
});

export type LimitsConfig = z.infer<typeof limitsConfigSchema>;
export type LimitName = 'tokens' | 'depth' | 'aliases' | 'directives' | 'rootFields' | 'fragmentSpreads' | 'cost' | 'variables' | 'variableStringLength';

export function limitError(limit: LimitName, maximum: number, found: number | string, what: string): GraphQLError {
  return new GraphQLError(`The operation has ${found === 'more' ? `more than ${maximum}` : found} ${what}; at most ${maximum} are allowed`, {
    extensions: { code: LIMIT_CODE, limit, maximum, found },
  });
}

/** GraphQL Armor's rules, reporting our error (their message carries the count found). */
function armor(
  rule: typeof maxDepthRule | typeof maxAliasesRule | typeof maxDirectivesRule,
  limit: LimitName,
  maximum: number,
  what: string,
): ValidationRule {
  return (context) =>
    rule({
      n: maximum,
      exposeLimits: true,
      propagateOnRejection: false,
      onReject: [
        (ctx: ValidationContext | null, error: GraphQLError) => {
          const found = Number(/found (\d+)/.exec(error.message)?.[1] ?? NaN);
          (ctx ?? context).reportError(limitError(limit, maximum, Number.isNaN(found) ? 'more' : found, what));
        },
      ],
    })(context) as unknown as ReturnType<ValidationRule>;
}

function countingRule(count: (document: DocumentNode) => number, limit: LimitName, maximum: number, what: string): ValidationRule {
  return (context) => ({
    Document: {
      enter(document) {
        const found = count(document);
        if (found > maximum) context.reportError(limitError(limit, maximum, found, what));
      },
    },
  });
}

/** The validation rules for every limit that needs no variables. */
export function limitRules(limits: LimitsConfig): ValidationRule[] {
  return [
    armor(maxDepthRule, 'depth', limits.maxDepth, 'levels of nesting'),
    armor(maxAliasesRule, 'aliases', limits.maxAliases, 'aliases'),
    armor(maxDirectivesRule, 'directives', limits.maxDirectives, 'directives'),
    countingRule(
      (document) => Math.max(0, ...document.definitions.map((definition) => (definition.kind === Kind.OPERATION_DEFINITION ? definition.selectionSet.selections.length : 0))),
      'rootFields',
      limits.maxRootFields,
      'root fields',
    ),
    countingRule(
      (document) => {
        let spreads = 0;
        JSON.stringify(document, (_key, value: { kind?: string }) => {
          if (value && value.kind === Kind.FRAGMENT_SPREAD) spreads += 1;
          return value;
        });
        return spreads;
      },
      'fragmentSpreads',
      limits.maxFragmentSpreads,
      'fragment spreads',
    ),
  ];
}

/** graphql-js's parser stops at this many tokens; its message becomes our error (limitErrorOfParse). */
export const parseOptionsOf = (limits: LimitsConfig) => ({ maxTokens: limits.maxTokens });

/** Our error for graphql-js's "Document contains more than N tokens", else undefined. */
export function limitErrorOfParse(message: string, limits: LimitsConfig): GraphQLError | undefined {
  // graphql-js 16 says "more that N tokens".
  return /contains more tha[nt] \d+ tokens/.test(message) ? limitError('tokens', limits.maxTokens, 'more', 'tokens') : undefined;
}

function listEstimator(defaultListSize: number): ComplexityEstimator {
  return ({ type, field, args, childComplexity }) => {
    const size = [args.first, args.last, args.limit].find((value): value is number => typeof value === 'number' && value >= 0);
    if (size !== undefined) return 1 + size * childComplexity;
    const inConnection = /(Connection|Edge)$/.test(type.name);
    if (isListType(getNullableType(field.type)) && !inConnection) return 1 + defaultListSize * childComplexity;
    // A connection whose size is not given is as big as a default list.
    if (/Connection$/.test(getNamedType(field.type).name)) return 1 + defaultListSize * childComplexity;
    return 1 + childComplexity;
  };
}

/** The request's variables: how many, and the longest string in them. Checked before parsing. */
export function checkVariables(limits: LimitsConfig, variables: unknown): GraphQLError | undefined {
  if (variables === null || typeof variables !== 'object') return undefined;
  const count = Object.keys(variables).length;
  if (count > limits.maxVariables) return limitError('variables', limits.maxVariables, count, 'variables');
  let longest = 0;
  JSON.stringify(variables, (_key, value: unknown) => {
    if (typeof value === 'string' && value.length > longest) longest = value.length;
    return value;
  });
  if (longest > limits.maxVariableStringLength) {
    return limitError('variableStringLength', limits.maxVariableStringLength, longest, 'characters in a variable string');
  }
  return undefined;
}

/**
 * The operation's estimated cost with the request's variables, once the operation is known:
 * `error` when it is over the maximum; `cost` undefined when it cannot be estimated (bad variable
 * values and the like, which the ordinary checks that follow report precisely).
 */
export function estimateCost(
  limits: LimitsConfig,
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | undefined,
  variables: Record<string, unknown> | undefined,
): { cost?: number; error?: GraphQLError } {
  let cost: number;
  try {
    cost = getComplexity({
      schema,
      query: document,
      ...(operationName ? { operationName } : {}),
      variables: variables ?? {},
      estimators: [listEstimator(limits.defaultListSize)],
      // The cost walk itself is bounded: an operation expanding to more nodes is over any cost.
      maxQueryNodes: 100_000,
    });
  } catch (error) {
    if (/maximum allowed number of nodes/.test((error as Error).message)) return { error: limitError('cost', limits.maxCost, 'more', 'cost units') };
    return {};
  }
  return cost > limits.maxCost ? { cost, error: limitError('cost', limits.maxCost, cost, 'cost units') } : { cost };
}

/** The cost check alone: the error when the operation is over the maximum. */
export function checkCost(
  limits: LimitsConfig,
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | undefined,
  variables: Record<string, unknown> | undefined,
): GraphQLError | undefined {
  return estimateCost(limits, schema, document, operationName, variables).error;
}
