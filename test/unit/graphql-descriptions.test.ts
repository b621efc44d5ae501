/**
 * The schema lint run by `npm test`: every type, field, argument, input field and enum value the API exposes
 * carries a description, because that text is what client developers read in the explorer and in generated code.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  GraphQLEnumType,
  GraphQLInputObjectType,
  GraphQLInterfaceType,
  GraphQLObjectType,
  type GraphQLSchema,
  GraphQLUnionType,
  isIntrospectionType,
  isSpecifiedScalarType,
} from 'graphql';
import { buildGraphQLSchema, type ResolverServices } from '../../src/graphql/schema';

/** Schema coordinates (`Type.field(arg:)`, `Enum.VALUE`) of every element without a non-blank description. */
export function undocumentedElements(schema: GraphQLSchema): string[] {
  const missing: string[] = [];
  const lacks = (description: string | null | undefined) => !description?.trim();
  for (const type of Object.values(schema.getTypeMap())) {
    // The spec's own types (String, __Schema, ...) are documented by the spec.
    if (isIntrospectionType(type) || isSpecifiedScalarType(type)) continue;
    if (lacks(type.description)) missing.push(type.name);
    if (type instanceof GraphQLObjectType || type instanceof GraphQLInterfaceType) {
      for (const field of Object.values(type.getFields())) {
        if (lacks(field.description)) missing.push(`${type.name}.${field.name}`);
        for (const arg of field.args) if (lacks(arg.description)) missing.push(`${type.name}.${field.name}(${arg.name}:)`);
      }
    } else if (type instanceof GraphQLInputObjectType) {
      for (const field of Object.values(type.getFields())) if (lacks(field.description)) missing.push(`${type.name}.${field.name}`);
    } else if (type instanceof GraphQLEnumType) {
      for (const value of type.getValues()) if (lacks(value.description)) missing.push(`${type.name}.${value.name}`);
    } else if (type instanceof GraphQLUnionType) {
      // A union has no members of its own to describe beyond its name.
    }
  }
  return missing.sort();
}

describe('GraphQL schema lint', () => {
  it('describes every type, field, argument, input field and enum value', async () => {
    const schema = await buildGraphQLSchema({} as ResolverServices);
    const missing = undocumentedElements(schema);
    assert.ok(missing.length === 0, `${missing.length} schema elements lack a description:\n  ${missing.join('\n  ')}`);
  });

  it('would name an undocumented element (the lint itself works)', async () => {
    const { buildSchema } = await import('graphql');
    const schema = buildSchema(`
      "Documented." type Query { "Documented." ok(first: Int): Thing }
      type Thing { "Documented." a: String, b: String }
      "Documented." enum Colour { "Documented." RED GREEN }
      "Documented." input Filter { c: String }
      "Documented." type Mutation { "Documented." set(filter: Filter): Colour }
    `);
    assert.deepEqual(undocumentedElements(schema), ['Colour.GREEN', 'Filter.c', 'Mutation.set(filter:)', 'Query.ok(first:)', 'Thing', 'Thing.b']);
  });
});
