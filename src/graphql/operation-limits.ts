import type { ApolloServerPlugin } from '@apollo/server';
import {
  GraphQLError,
  Kind,
  getNamedType,
  getVariableValues,
  isInterfaceType,
  isObjectType,
  valueFromAST,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { RequestContext } from '../context';
import { DomainError } from '../services/errors';
import { graphqlCodeOf } from './format-error';

/** Arguments that size a list: a selection under them is paid once per item asked for. */
const PAGE_ARGUMENTS = new Set(['first', 'last']);

export interface OperationLimits {
  /** Largest page a `first`/`last` argument may ask for; above it the operation is BAD_USER_INPUT. */
  maxPageSize: number;
  maxCost: number;
  /** Per-tenant admission of queries (reads); throws RATE_LIMITED. */
  reads: { check(tenantId: string): Promise<void> };
}

/**
 * The same weights as graphql-armor's cost limit (an object field 2, a scalar 1, children weighted 1.5, a list
 * multiplied by its `first`/`last`), but with the operation's variable values: armor's rule runs during
 * validation, before variables exist, so `invitations(first: $n)` would cost as if `first` were 1. A `first`
 * left out costs its schema default.
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): { cost: number; largestPage: number } {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const fragmentCosts = new Map<string, number>();
  let largestPage = 0;

  const pageSize = (field: GraphQLField<unknown, unknown> | undefined, node: { arguments?: readonly { name: { value: string }; value: any }[] }): number => {
    let size = 1;
    for (const name of PAGE_ARGUMENTS) {
      const argument = field?.args.find((a) => a.name === name);
      const given = node.arguments?.find((a) => a.name.value === name);
      const value = given && argument ? valueFromAST(given.value, argument.type, variables) : given ? undefined : argument?.defaultValue;
      if (typeof value === 'number' && Number.isFinite(value)) {
        largestPage = Math.max(largestPage, value);
        size = Math.max(size, value);
      }
    }
    return size;
  };

  const selectionCost = (selectionSet: SelectionSetNode, parent: GraphQLCompositeType | undefined): number => {
    let total = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        if (name === '__schema') continue; // introspection (Sandbox) is not priced, as with armor
        const field = parent && (isObjectType(parent) || isInterfaceType(parent)) ? parent.getFields()[name] : undefined;
        if (!selection.selectionSet) {
          total += 1;
          continue;
        }
        const child = field ? (getNamedType(field.type) as GraphQLCompositeType) : undefined;
        total += (2 + 1.5 * selectionCost(selection.selectionSet, child)) * pageSize(field, selection);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? (schema.getType(selection.typeCondition.name.value) as GraphQLCompositeType | undefined) : parent;
        total += 2 + 1.5 * selectionCost(selection.selectionSet, type);
      } else {
        const name = selection.name.value;
        let cost = fragmentCosts.get(name);
        if (cost === undefined) {
          const fragment = fragments.get(name);
          // Validation (NoFragmentCycles) has run: a fragment cannot reach itself.
          cost = fragment ? 2 + 1.5 * selectionCost(fragment.selectionSet, schema.getType(fragment.typeCondition.name.value) as GraphQLCompositeType | undefined) : 0;
          fragmentCosts.set(name, cost);
        }
        total += 1 + 1.5 * cost;
      }
    }
    return total;
  };

  const root = schema.getRootType(operation.operation) ?? undefined;
  return { cost: selectionCost(operation.selectionSet, root), largestPage };
}

/** A refusal before execution, with the HTTP status it deserves (Apollo answers 500 otherwise). */
function refusal(error: DomainError, status: number, headers?: Map<string, string>): GraphQLError {
  return new GraphQLError(error.message, {
    originalError: error,
    extensions: { code: graphqlCodeOf(error.kind), http: { status, ...(headers ? { headers } : {}) } },
  });
}

function isIntrospectionOnly(operation: OperationDefinitionNode): boolean {
  return operation.selectionSet.selections.every((s) => s.kind === Kind.FIELD && s.name.value.startsWith('__'));
}

/**
 * Checks made once the operation and its variables are known, before any resolver runs: page sizes, the cost
 * limit with variables, then the tenant's read budget (queries only; Sandbox's introspection is free).
 */
export function operationLimitsPlugin(limits: OperationLimits): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request, contextValue }) {
          if (!operation) return; // Apollo has already refused a document without the named operation
          const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], request.variables ?? {});
          if (coerced.errors) return; // execution reports bad variables as usual
          const { cost, largestPage } = operationCost(schema, document, operation, coerced.coerced);
          if (largestPage > limits.maxPageSize) {
            throw refusal(new DomainError('BAD_USER_INPUT', `first must be between 0 and ${limits.maxPageSize}`), 400);
          }
          if (cost > limits.maxCost) {
            throw new GraphQLError(`Query cost limit of ${limits.maxCost} exceeded, found ${Math.ceil(cost)}; ask for smaller pages or fewer fields`, {
              extensions: { code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 } },
            });
          }
          const tenantId = contextValue.viewer?.tenantId;
          if (operation.operation !== 'query' || !tenantId || isIntrospectionOnly(operation)) return;
          try {
            await limits.reads.check(tenantId);
          } catch (error) {
            if (!(error instanceof DomainError) || error.details.retryAfterSeconds === undefined) throw error;
            throw refusal(error, 429, new Map([['retry-after', String(error.details.retryAfterSeconds)]]));
          }
        },
      };
    },
  };
}
